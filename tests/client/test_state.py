"""FieldTree: the type rules applied to operations, without any I/O."""

from __future__ import annotations

import pytest

from neptune_sync.exceptions import FieldLimitExceededError, TypeConflictError
from neptune_sync.state import FieldTree, artifact_hash, matching_relpaths
from neptune_sync.wire import ops as o

REF = o.FileRef("ab" * 32, 3, "f.txt", "txt")


def points(*steps):
    return tuple(o.FloatPoint(float(s), s * 2.0, 100.0 + s) for s in steps)


def test_first_write_fixes_the_type_and_conflicts_change_nothing():
    tree = FieldTree()
    tree.apply(o.AssignInt("a", 1))
    with pytest.raises(TypeConflictError) as info:
        tree.apply(o.AssignString("a", "x"))
    assert (info.value.existing, info.value.attempted) == ("int", "string")
    assert tree.get("a").value == 1 and tree.get("a").type == "int"


def test_series_points_must_increase_and_clear_keeps_the_type():
    tree = FieldTree()
    tree.apply(o.LogFloats("s", points(1, 2)))
    tree.apply(o.LogFloats("s", points(2, 3, 1, 4)))
    assert [p.step for p in tree.get("s").value] == [1, 2, 3, 4]
    assert tree.get("s").last_value == 8.0
    tree.apply(o.ClearSeries("s"))
    assert tree.get("s").value is None and tree.get("s").type == "floatSeries"
    tree.apply(o.LogFloats("s", points(0)))
    assert [p.step for p in tree.get("s").value] == [0]
    with pytest.raises(TypeConflictError):
        tree.apply(o.LogStrings("s", (o.StringPoint(9.0, "x", 1.0),)))
    tree.apply(o.AssignBool("b", True))
    with pytest.raises(TypeConflictError, match="'b' is a bool field; cannot write a series"):
        tree.apply(o.ClearSeries("b"))


def test_types_only_tree_tracks_steps_but_no_values():
    tree = FieldTree(keep_values=False)
    tree.apply(o.LogFloats("s", points(5, 7)))
    tree.apply(o.AddStrings("tags", ("a",)))
    assert tree.get("s").last_step == 7 and tree.get("s").value is None
    assert tree.get("tags").value is None


def test_sets_file_sets_and_artifacts():
    tree = FieldTree()
    tree.apply(o.AddStrings("t", ("a", "b", "c")))
    tree.apply(o.RemoveStrings("t", ("b",)))
    assert tree.get("t").value == {"a", "c"}
    tree.apply(o.ClearStringSet("t"))
    assert tree.get("t").value == set()
    files = tuple(o.FileSetEntry(rel, REF) for rel in ("src/a.py", "src/b.py", "x.txt"))
    tree.apply(o.UploadFileSet("fs", files))
    tree.apply(o.DeleteFileSetFiles("fs", ("src/a.py", "src")))  # exact relpaths only
    assert sorted(tree.get("fs").value) == ["src/b.py", "x.txt"]
    tree.apply(o.UploadFileSet("fs", files[:1], reset=True))
    assert sorted(tree.get("fs").value) == ["src/a.py"]
    relpaths = ["src/a.py", "src/sub/c.py", "x.txt", "srcx"]
    assert matching_relpaths(relpaths, ["src"]) == ["src/a.py", "src/sub/c.py"]
    assert matching_relpaths(relpaths, ["*.txt", "srcx"]) == ["srcx", "x.txt"]
    assert matching_relpaths(relpaths, ["src/*.py"]) == ["src/a.py", "src/sub/c.py"]
    one = o.ArtifactEntry("a", "11" * 32, 1, 0.0)
    two = o.ArtifactEntry("b", "22" * 32, 2, 0.0)
    tree.apply(o.TrackArtifact("art", (one,), artifact_hash([one])))
    tree.apply(o.TrackArtifact("art", (one, two), artifact_hash([two, one])))  # the whole list
    assert tree.get("art").last_value == artifact_hash([one, two]) != artifact_hash([one])
    assert sorted(tree.get("art").value) == ["a", "b"]


def test_namespaces_delete_and_limit():
    tree = FieldTree(max_fields=3)
    tree.apply(o.AssignInt("ns/a", 1))
    tree.apply(o.AssignInt("ns/sub/b", 2))
    assert tree.is_namespace("ns") and tree.is_namespace("ns/sub") and not tree.is_namespace("ns/a")
    assert tree.structure() == {"ns": {"a": "int", "sub": {"b": "int"}}}
    with pytest.raises(TypeConflictError, match="'ns/a' is an int field; cannot write a namespace"):
        tree.apply(o.AssignInt("ns/a/deeper", 1))
    tree.apply(o.AssignInt("c", 3))
    with pytest.raises(FieldLimitExceededError, match=r"\[rule: field-limit\]"):
        tree.apply(o.AssignInt("d", 4))
    tree.apply(o.DeleteField("ns"))
    assert tree.structure() == {"c": "int"} and not tree.is_namespace("ns")
    tree.apply(o.AssignString("ns", "now a field"))
    tree.apply(o.DeleteField("missing"))  # deleting nothing is not an error
    assert tree.get("ns").value == "now a field"
    tree.apply(o.AssignFile("file", REF))
    assert tree.get("file").value == REF
