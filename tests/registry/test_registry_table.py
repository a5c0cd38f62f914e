"""The NQL subset neptune_sync.registry_table reads (goes with that module when the project
tables replace it): what each comparison becomes, and the position of what it cannot read."""

from __future__ import annotations

import pytest

from neptune_sync.exceptions import NeptuneUserError
from neptune_sync.registry_table import parse_query


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("", []),
        ('sys/stage:string = "production"', ['sys/stage=="production"']),
        ("(acc:float > 0.5) AND (n:int <= 3)", ["acc>0.5", "n<=3"]),
        ("ok:bool = true and name:string != adam", ["ok==true", 'name!="adam"']),
        ('sys/state:experimentState = "inactive"', ['sys/state=="Inactive"']),
        (r'msg:string = "say \"hi\""', ['msg=="say "hi""']),
    ],
)
def test_comparisons_become_where_expressions(query, where):
    assert parse_query(query) == where


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("(acc:float > 0.5) OR (acc:float < 0.2)", "expected AND at position 18"),
        ("NOT acc:float > 1", "at position 0"),
        ("acc:float > 1 AND", "at position 17"),
        ("acc:vector > 1", "type 'vector' at position 4"),
        ('tags:stringSet CONTAINS "x"', "at position 0"),
    ],
)
def test_what_it_cannot_read_is_named_by_position(query, message):
    with pytest.raises(NeptuneUserError, match=message):
        parse_query(query)
