"""CPU time of loading neptune_sync's training API (``import neptune_sync`` and the first use of
``neptune_sync.init_run``, which loads the public names) beside ``import json`` (the baseline), best
of N fresh processes.

python bench/import_time.py [--reps 7]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

PROBE = "import time; t = time.process_time(); {0}; print(time.process_time() - t)"


def best(module: str, reps: int) -> float:
    return min(
        float(
            subprocess.run(
                [sys.executable, "-c", PROBE.format(module)], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(reps)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    reps = parser.parse_args().reps
    base = best("import json", reps)
    ours = best("import neptune_sync; neptune_sync.init_run", reps)
    print(f"import json                                  {base * 1e3:8.1f} ms CPU (baseline)")
    print(
        f"import neptune_sync; neptune_sync.init_run   {ours * 1e3:8.1f} ms CPU"
        f"  = baseline + {(ours - base) * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
