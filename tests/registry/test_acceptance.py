"""The acceptance script of docs/models.md (docs/examples/model_registry.py), run as it is documented:
every step in its own process, two offline machines, the real `neptune-sync sync` and store."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from registry_helpers import MODEL

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "model_registry.py"


def load_script():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("model_registry", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_production_version_found_and_downloaded_by_a_third_process(store, tmp_path):
    out = load_script().main(tmp_path / "work")
    assert out["model"] == MODEL
    for local in (out["local_a"], out["local_b"]):
        assert re.fullmatch(rf"{MODEL}-local-[0-9a-f]{{12}}", local)
    # machine a synced first, so its version is number 1 and machine b's (promoted) number 2
    assert out["promoted"] == f"{MODEL}-2"
    assert out["found"] == f"{MODEL}-2 weights of machine-b"
    assert (tmp_path / "work" / "production.bin").read_text() == "weights of machine-b"
