"""The model registry end to end (docs/models.md): a model, two versions logged on two offline
"machines" (two data directories), both synced, one promoted to production, and a third process
that finds "the production version of model MOD" and downloads its weights.

Needs a store and a token for the project (``neptune-sync server token create``)::

    NEPTUNE_API_TOKEN=... NEPTUNE_PROJECT=team/registry python docs/examples/model_registry.py WORKDIR

Each step runs in its own process (``python model_registry.py WORKDIR STEP``) so that nothing is
shared but the data directories and the store.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import neptune_sync as neptune
from neptune_sync import cli


def machine(work: Path, name: str) -> None:
    """This process plays machine ``name``: its own data directory, no network while logging."""
    os.environ["NEPTUNE_SYNC_DIR"] = str(work / name)


def create_model(work: Path) -> None:
    machine(work, "machine-a")
    model = neptune.init_model(key="MOD", name="classifier", mode="offline")
    model["data/version"] = "2026-01"
    print(model["sys/id"].fetch())  # <project key>-MOD, e.g. REGIST-MOD
    model.stop()


def train(work: Path, name: str, model_id: str, accuracy: str) -> None:
    machine(work, name)
    version = neptune.init_model_version(model=model_id, mode="offline")
    version["validation/acc"] = float(accuracy)
    version["model"].upload(neptune.File.from_content(f"weights of {name}".encode(), extension="bin"))
    version.stop()
    print(version.id)  # a local id: the store numbers the version when it syncs


def sync(work: Path, name: str) -> None:
    machine(work, name)
    assert cli.main(["sync", "-q"]) == 0


def promote(work: Path, name: str, local_id: str) -> None:
    """On machine ``name``, move its version to production; it is numbered by now."""
    machine(work, name)
    version = neptune.init_model_version(with_id=local_id, mode="offline")
    version.change_stage("production")
    version.stop()
    print(version.id)  # <model id>-<n>


def find_production(work: Path, model_id: str) -> None:
    """A third process, with no data directory of its own: everything comes from the store."""
    machine(work, "machine-c")
    model = neptune.init_model(with_id=model_id, mode="read-only")
    table = model.fetch_model_versions_table(query='sys/stage:string = "production"').to_pandas()
    (version_id,) = table["sys/id"]
    version = neptune.init_model_version(with_id=version_id, mode="read-only")
    target = version["model"].download(str(work / "production.bin"))
    print(version_id, Path(target).read_text())


def main(work: Path) -> dict[str, str]:
    """Every step in its own process; returns what the steps printed."""

    def step(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, __file__, str(work), *args], check=True, capture_output=True, text=True
        )
        return out.stdout.strip()

    model_id = step("create_model")
    local_a = step("train", "machine-a", model_id, "0.91")
    local_b = step("train", "machine-b", model_id, "0.95")  # both exist before either is synced
    step("sync", "machine-a")
    step("sync", "machine-b")
    promoted = step("promote", "machine-b", local_b)
    step("sync", "machine-b")
    found = step("find_production", model_id)
    return {"model": model_id, "local_a": local_a, "local_b": local_b, "promoted": promoted, "found": found}


if __name__ == "__main__":
    if len(sys.argv) == 2:
        print(main(Path(sys.argv[1])))
    else:
        globals()[sys.argv[2]](Path(sys.argv[1]), *sys.argv[3:])
