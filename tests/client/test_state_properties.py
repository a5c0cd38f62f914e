"""FieldTree against a plain dict model, on random operation sequences (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from neptune_sync.exceptions import FieldLimitExceededError, TypeConflictError
from neptune_sync.state import FieldTree
from neptune_sync.wire import ops as o

PATHS = ["a", "b", "a/x", "a/y", "a/x/deep", "c/d"]
MAX_FIELDS = 4

OPS = st.one_of(
    st.builds(o.AssignInt, st.sampled_from(PATHS), st.integers(-5, 5)),
    st.builds(o.AssignString, st.sampled_from(PATHS), st.text(max_size=3)),
    st.builds(
        o.LogFloats,
        st.sampled_from(PATHS),
        st.lists(
            st.builds(o.FloatPoint, st.integers(0, 20).map(float), st.floats(0, 1), st.just(0.0)), max_size=3
        ).map(tuple),
    ),
    st.builds(o.AddStrings, st.sampled_from(PATHS), st.lists(st.sampled_from("pqr"), max_size=2).map(tuple)),
    st.builds(o.DeleteField, st.sampled_from(["a", "b", "a/x", "c", "c/d"])),
    st.builds(o.ClearSeries, st.sampled_from(PATHS)),
)
# the type each op writes (docs/sync-protocol.md, rule 4), kept here so the model shares no table
WRITES = {o.AssignInt: "int", o.AssignString: "string", o.LogFloats: "floatSeries", o.AddStrings: "stringSet"}


def model_apply(model: dict[str, list], op: o.Op) -> bool:
    """Apply to the model; False if the tree must raise. Values: [type, value, last_step]."""
    path = op.path
    if isinstance(op, o.DeleteField):
        for key in [k for k in model if k == path or k.startswith(path + "/")]:
            del model[key]
        return True
    if isinstance(op, o.ClearSeries):
        if path not in model:
            return True
        if model[path][0] != "floatSeries":
            return False
        model[path][1:] = [None, float("-inf")]
        return True
    type_ = WRITES[type(op)]
    if path in model:
        if model[path][0] != type_:
            return False
    else:
        parents = ["/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)]
        if any(p in model for p in parents) or any(k.startswith(path + "/") for k in model):
            return False
        if len(model) >= MAX_FIELDS:
            return False
        model[path] = [type_, None, float("-inf")]
    entry = model[path]
    if isinstance(op, o.LogFloats):
        for point in op.points:
            if point.step > entry[2]:
                entry[2], entry[1] = point.step, point.value
    elif isinstance(op, o.AddStrings):
        entry[1] = (entry[1] or set()) | set(op.values)
    else:
        entry[1] = op.value
    return True


@settings(max_examples=300, deadline=None)
@given(st.lists(OPS, max_size=30))
def test_tree_matches_the_model(operations):
    tree, model = FieldTree(max_fields=MAX_FIELDS), {}
    for op in operations:
        before = {p: (f.type, f.last_step) for p, f in tree.fields.items()}
        allowed = model_apply(model, op)
        try:
            tree.apply(op)
        except (TypeConflictError, FieldLimitExceededError):
            assert not allowed, op
            assert {p: (f.type, f.last_step) for p, f in tree.fields.items()} == before
            continue
        assert allowed, op
    assert {p: f.type for p, f in tree.fields.items()} == {p: e[0] for p, e in model.items()}
    for path, (type_, value, last_step) in model.items():
        field = tree.get(path)
        if type_ == o.FieldType.FLOAT_SERIES:
            assert (field.last_step, field.last_value) == (last_step, value)
        elif type_ == o.FieldType.STRING_SET:
            assert field.value == (value or set())
        else:
            assert field.value == value
