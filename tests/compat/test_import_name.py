"""``import neptune`` (the compat/ distribution) gives the neptune 1.x import surface over neptune_sync."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
import textwrap

import neptune
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import neptune_sync


def run_python(code: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, **kwargs
    )


def test_distribution_metadata_says_what_it_is_and_satisfies_the_framework_checks():
    meta = importlib.metadata.metadata("neptune")
    assert "neptune_sync" in meta["Summary"] and "not Neptune's client" in meta["Summary"]
    version = importlib.metadata.version("neptune")
    assert Version(version) >= Version("1.0") and Version(version).local == "sync"
    # PyTorch Lightning: RequirementCache("neptune>=1.0") checks the installed distribution's version
    assert Requirement("neptune>=1.0").specifier.contains(Version(version), prereleases=True)
    # transformers: importlib.util.find_spec("neptune"), then importlib.metadata.version("neptune")
    assert importlib.util.find_spec("neptune") is not None
    assert neptune.__version__ == version


def test_top_level_names_are_neptune_syncs_own_objects():
    from neptune import ANONYMOUS_API_TOKEN, Run, init_project, init_run

    assert Run is neptune_sync.Run and init_run is neptune_sync.init_run
    assert init_project is neptune_sync.init_project
    assert ANONYMOUS_API_TOKEN == neptune_sync.ANONYMOUS_API_TOKEN
    assert neptune.File is neptune_sync.File


@pytest.mark.parametrize("name", ["types", "exceptions", "utils", "handler"])
def test_submodules_are_the_same_module_objects_and_keep_their_identity(name):
    alias = importlib.import_module(f"neptune.{name}")
    real = importlib.import_module(f"neptune_sync.{name}")
    assert alias is real
    assert sys.modules[f"neptune.{name}"] is real
    assert real.__spec__.name == f"neptune_sync.{name}"  # the alias does not rename the module


def test_the_import_lines_of_real_code_and_integration_packages():
    from neptune.handler import Handler
    from neptune.integrations.utils import expect_not_an_experiment, join_paths, verify_type
    from neptune.internal.utils import verify_type as internal_verify_type
    from neptune.types import (
        Artifact,
        Boolean,
        Datetime,
        File,
        FileSeries,
        FileSet,
        Float,
        FloatSeries,
        GitRef,
        Integer,
        String,
        StringSeries,
        StringSet,
    )
    from neptune.utils import stringify_unsupported

    assert Handler is neptune_sync.Handler and File is neptune_sync.File
    assert stringify_unsupported is neptune_sync.stringify_unsupported
    assert verify_type is internal_verify_type
    assert GitRef.DISABLED.repository_path is None and GitRef.disabled() is GitRef.DISABLED
    assert {Artifact, Boolean, Datetime, Float, Integer, String, FileSeries, FileSet, FloatSeries} and {
        StringSeries,
        StringSet,
    }
    assert join_paths("a/", "/b", "c") == "a/b/c"
    with pytest.raises(TypeError, match="x must be of type str or None"):
        verify_type("x", 1, (str, type(None)))
    verify_type("x", None, (str, type(None)))
    run = neptune.init_run(mode="debug")
    expect_not_an_experiment(run)
    run.stop()


def test_neptune_new_is_the_old_alias_with_a_deprecation_warning():
    out = run_python(
        """
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import neptune.new as neptune
            from neptune.new.types import File
            from neptune.new.exceptions import MissingFieldException
        import neptune as top, neptune_sync
        assert neptune.init_run is neptune_sync.init_run and File is neptune_sync.File
        assert MissingFieldException is neptune_sync.exceptions.MissingFieldError
        assert any(issubclass(w.category, DeprecationWarning) and "neptune.new" in str(w.message) for w in caught)
        print("ok")
        """
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_any_integrations_name_maps_to_neptune_sync_integrations(tmp_path):
    """Whatever neptune_sync/integrations/<name>.py exists is neptune.integrations.<name> (same module)."""
    extra = tmp_path / "extra_integrations"
    extra.mkdir()
    (extra / "fakeframework.py").write_text("class NeptuneCallback:\n    pass\n")
    (extra / "nested").mkdir()
    (extra / "nested" / "__init__.py").write_text("")
    (extra / "nested" / "impl.py").write_text("VALUE = 42\n")
    out = run_python(
        f"""
        import neptune_sync.integrations
        neptune_sync.integrations.__path__.append({str(extra)!r})
        import neptune.integrations
        from neptune.integrations.fakeframework import NeptuneCallback
        import neptune_sync.integrations.fakeframework as real
        assert NeptuneCallback is real.NeptuneCallback
        assert neptune.integrations.fakeframework is real  # attribute access too
        from neptune.integrations.nested.impl import VALUE
        import neptune_sync.integrations.nested.impl as real_impl, sys
        assert sys.modules["neptune.integrations.nested.impl"] is real_impl and VALUE == 42
        from neptune.integrations.utils import verify_type
        import neptune_sync.integrations.utils
        assert verify_type is neptune_sync.integrations.utils.verify_type
        try:
            import neptune.integrations.nosuchframework
        except ModuleNotFoundError as exc:
            assert "neptune.integrations.nosuchframework" in str(exc), exc
        else:
            raise AssertionError("imported a module that does not exist")
        print("ok")
        """
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_importing_the_shim_keeps_neptune_sync_light():
    out = run_python(
        """
        import sys, neptune
        from neptune.types import File
        from neptune.exceptions import MissingFieldException
        print([m for m in ("numpy", "pandas", "PIL", "matplotlib", "aiohttp") if m in sys.modules])
        """
    )
    assert out.stdout.strip() == "[]", out.stderr
