"""The NQL parser: random filters written as 1.x users wrote them parse to the filter they mean,
the canonical text parses back to the same tree, and what is not NQL fails naming its column."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neptune_sync_store import nql

UTC = dt.timezone.utc
path_segment = st.text(alphabet="abcxyz_019-.", min_size=1, max_size=6)
paths = st.lists(path_segment, min_size=1, max_size=3).map("/".join)
strings = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8
)
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
moments = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
NUMBER_OPS = ["=", "!=", ">", ">=", "<", "<="]
STRING_OPS = [*NUMBER_OPS, "CONTAINS", "NOT CONTAINS", "MATCHES", "NOT MATCHES"]


@st.composite
def conditions(draw) -> tuple:
    path = draw(paths)
    kind = draw(
        st.sampled_from(["float", "int", "bool", "string", "datetime", "stringSet", "state", "exists"])
    )
    if kind == "exists":
        return ("cmp", path, draw(st.sampled_from([None, "float", "string"])), "EXISTS", None)
    if kind in ("float", "int"):
        return ("cmp", path, kind, draw(st.sampled_from(NUMBER_OPS)), draw(floats))
    if kind == "bool":
        return ("cmp", path, kind, draw(st.sampled_from(["=", "!="])), draw(st.booleans()))
    if kind == "datetime":
        return ("cmp", path, kind, draw(st.sampled_from(NUMBER_OPS)), draw(moments))
    if kind == "stringSet":
        return ("cmp", path, kind, draw(st.sampled_from(["CONTAINS", "NOT CONTAINS"])), draw(strings))
    if kind == "state":
        return (
            "cmp",
            path,
            "experimentState",
            draw(st.sampled_from(["=", "!="])),
            draw(st.sampled_from(["active", "inactive"])),
        )
    op = draw(st.sampled_from(STRING_OPS))
    value = draw(st.sampled_from(["^a", "b$", "a.c", "x|y"])) if "MATCHES" in op else draw(strings)
    return ("cmp", path, kind, op, value)


filters = st.recursive(
    conditions(),
    lambda inner: st.one_of(
        inner.map(lambda n: ("not", n)),
        st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)),
    ),
    max_leaves=8,
)


def render(node: tuple, style: int) -> str:
    """NQL text; ``style`` varies keyword case, quoting of paths and values, and spacing."""
    if node[0] == "not":
        return f"{'not' if style % 2 else 'NOT'} ({render(node[1], style)})"
    if node[0] in ("and", "or"):
        word = node[0] if style % 3 == 0 else node[0].upper()
        return "(" + f"  {word}\t".join(render(i, style) for i in node[1]) + ")"
    _, path, kind, op, value = node
    name = f"`{path}`" if style % 2 else path
    if kind is not None:
        name += f"{' : ' if style % 5 == 0 else ':'}{kind}"
    if op == "EXISTS":
        return f"({name} EXISTS)"
    if isinstance(value, bool):
        text = "true" if value else "FALSE"
    elif isinstance(value, dt.datetime):
        text = f'"{value.isoformat()}"'
    elif isinstance(value, float):
        text = repr(value) if style % 3 else f'"{value!r}"'
    else:
        quote = "'" if style % 4 == 1 else '"'
        text = quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote
    return f"({name} {op.lower() if style % 7 == 0 else op} {text})"


def expected(node: tuple) -> tuple:
    """The tree the parser gives: nested AND (OR) in AND (OR) flattened, values as the store uses them."""
    if node[0] == "not":
        return ("not", expected(node[1]))
    if node[0] in ("and", "or"):
        items: list[tuple] = []
        for item in node[1]:
            got = expected(item)
            items.extend(got[1] if got[0] == node[0] else [got])
        return (node[0], items)
    _, path, kind, op, value = node
    if isinstance(value, bool):
        value = 1.0 if value else 0.0
    elif isinstance(value, dt.datetime):
        value = value.timestamp()
    negated = op.startswith("NOT ")
    return ("cmp", path, kind, op.removeprefix("NOT "), value, negated)


def as_tuples(node) -> tuple:
    if isinstance(node, nql.Not):
        return ("not", as_tuples(node.item))
    if isinstance(node, (nql.And, nql.Or)):
        return ("and" if isinstance(node, nql.And) else "or", [as_tuples(i) for i in node.items])
    return ("cmp", node.path, node.type, node.op, node.value, node.negated)


@settings(max_examples=300, deadline=None)
@given(filters, st.integers(0, 419))
def test_written_filters_parse_to_what_they_mean(tree, style):
    assert as_tuples(nql.parse(render(tree, style))) == expected(tree)


@settings(max_examples=300, deadline=None)
@given(filters)
def test_the_canonical_text_parses_back_to_the_same_tree(tree):
    parsed = nql.parse(render(tree, 1))
    assert nql.parse(nql.describe(parsed)) == parsed


@pytest.mark.parametrize(
    ("text", "column", "says"),
    [
        ("metrics/acc:float >", 20, "ends too early"),
        ("(a = 1", 7, "ends too early"),
        ("a:foo = 1", 3, "unknown type 'foo'"),
        ("a:bool > true", 8, "> does not apply to bool"),
        ("sys/tags:stringSet = 'x'", 20, "= does not apply to stringSet"),
        ("a = 1 b = 2", 7, "unexpected 'b'"),
        ("a:float = abc", 11, "'abc' is not a number"),
        ("t:datetime > 'yesterday'", 14, "not an ISO 8601 datetime"),
        ("s:string MATCHES '('", 18, "not a regular expression"),
        ("sys/state:experimentState = 'sleeping'", 29, "not a state"),
        ("a = 1 AND AND b = 2", 15, "unexpected 'b'"),  # the second AND reads as a field path
        ("a = 1 )", 7, "unexpected ')'"),
        ('a = "open', 5, "unexpected character"),
        ("a//b = 1", 1, "not a field path"),
    ],
)
def test_what_is_not_nql_fails_naming_the_column(text, column, says):
    with pytest.raises(nql.NQLError) as caught:
        nql.parse(text)
    assert caught.value.column == column
    assert f"column {column}:" in str(caught.value) and says in str(caught.value)


def test_the_queries_1x_users_wrote():
    tags_and_acc = nql.parse('(sys/tags:stringSet CONTAINS "x") AND (metrics/acc:float > 0.9)')
    assert tags_and_acc == nql.And(
        (nql.Compare("sys/tags", "stringSet", "CONTAINS", "x"), nql.Compare("metrics/acc", "float", ">", 0.9))
    )
    assert nql.parse('sys/state:experimentState = "inactive"') == nql.Compare(
        "sys/state", "experimentState", "=", "inactive"
    )
    assert nql.parse("sys/failed:bool = True") == nql.Compare("sys/failed", "bool", "=", 1.0)
    assert nql.parse("(backbone: string = VGG)") == nql.Compare("backbone", "string", "=", "VGG")
    # how 1.x's own query builder wrote conditions: backticked names, quoted values
    assert nql.parse('(`sys/trashed`:bool = false) AND (`sys/state`:experimentState = "running")') == nql.And(
        (
            nql.Compare("sys/trashed", "bool", "=", 0.0),
            nql.Compare("sys/state", "experimentState", "=", "active"),
        )
    )
    assert nql.parse("  ") is None


def test_a_query_is_bounded_in_conditions_and_nesting_but_not_in_chains():
    assert len(nql.parse(" OR ".join(["(a = 1 AND b = 2)"] * 50)).items) == 50  # 100 conditions, depth 2
    with pytest.raises(nql.NQLError, match="column 1001: a query holds at most 100 conditions, got 150"):
        nql.parse(" AND ".join(["a = 1"] * 150))
    with pytest.raises(nql.NQLError, match="column 85: a query nests at most 20 levels deep"):
        nql.parse("NOT " * 30 + "a = 1")
    assert nql.parse("(" * 500 + "a = 1" + ")" * 500) == nql.Compare("a", "float", "=", 1.0)
    with pytest.raises(nql.NQLError, match="at most 4000 characters"):
        nql.parse("a = " + "1" * 4_000)
