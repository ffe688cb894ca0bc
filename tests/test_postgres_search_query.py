"""`monitor search` on the PostgreSQL store: the query language of QUERY_HELP
(SQLite FTS5's) translated to a PostgreSQL tsquery. Pure translation first;
then the same queries run on both stores, which must find the same items."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.domain.archive import QUERY_HELP
from monitor.domain.feed import Validators
from monitor.domain.poll import PollOutcome
from monitor.errors import SearchError
from monitor.store.ports import Store
from monitor.store.postgres.search_query import document, translate, words
from tests.store_contract.conftest import CLEANUPS, FACTORIES
from tests.store_contract.records import NOW, URL, item


def test_words_are_folded_runs_of_letters_and_digits() -> None:
    assert words("Drone strike in Kursk-region, 2-1 at example.com") == [
        "drone",
        "strike",
        "in",
        "kursk",
        "region",
        "2",
        "1",
        "at",
        "example",
        "com",
    ]
    assert words("Café CAFÉ foo_bar") == ["cafe", "cafe", "foo", "bar"]


def test_a_document_weighs_the_title_and_marks_where_each_column_begins() -> None:
    # The summary's marker stands between the columns: no phrase spans them.
    assert document("Drone strike", "a drone") == "'^':1A,4 'drone':2A,6 'strike':3A 'a':5"


@pytest.mark.parametrize(
    ("query", "tsquery"),
    [
        ("drone", "('drone')"),
        ("depot Kursk", "(('depot') & ('kursk'))"),
        ('"drone strike"', "('drone' <-> 'strike')"),
        ("sanction*", "('sanction':*)"),
        ("title:drone", "('drone':A)"),
        ("summary:drone", "('drone':D)"),
        ("-title:drone", "('drone':D)"),
        ("{title summary}:drone", "('drone')"),
        ("football OR kursk", "(('football') | ('kursk'))"),
        ("drone NOT engines", "(('drone') & !('engines'))"),
        ("^drone", "('^' <-> 'drone')"),
        ('"Kursk-region"', "('kursk' <-> 'region')"),
        ("a + b*", "('a' <-> 'b':*)"),
        ("title:(a OR b)", "(('a':A) | ('b':A))"),
    ],
)
def test_each_form_of_query_help_has_its_tsquery(query: str, tsquery: str) -> None:
    assert translate(query) == tsquery


def test_implicit_and_binds_tighter_than_not_then_and_then_or() -> None:
    assert translate("a b NOT c") == "((('a') & ('b')) & !('c'))"
    assert translate("a NOT b c") == "(('a') & !(('b') & ('c')))"
    assert translate("a OR b AND c") == "(('a') | (('b') & ('c')))"


def test_a_phrase_without_words_is_dropped_beside_others_and_finds_nothing_alone() -> None:
    assert translate('a ""') == "('a')"
    assert translate('""') is None
    assert translate('a AND ""') is None
    assert translate('a NOT ""') == "('a')"
    assert translate("title:(summary:a)") is None, "no column is both"


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("Kursk-region", "syntax error"),
        ('"unterminated', "unterminated string"),
        ("AND", 'syntax error near "AND"'),
        ("(kursk", "syntax error"),
        ("nope:kursk", "no such column: nope"),
        ("a (b)", 'syntax error near "("'),
        ("(a) b", 'syntax error near "b"'),
        ("a.b", 'syntax error near "."'),
        ("NEAR(a b)", "NEAR groups are not supported"),
    ],
)
def test_a_query_that_is_not_valid_says_what_and_how_to_write_one(query: str, problem: str) -> None:
    with pytest.raises(SearchError) as raised:
        translate(query)
    message = str(raised.value)
    assert message.startswith(f"not a valid search query {query!r} (")
    assert problem in message
    assert message.endswith(QUERY_HELP)


TEXTS = [
    ("a b c", "d e"),
    ("foo_bar", "x"),
    ("café", "b"),
    ("x", "a b"),
    ("a", "c"),
    ("Drone strike in Kursk-region", "A depot was hit, the drone said."),
    ("Growth of 3.5%", "example.com reports"),
    ("b a", "c a b"),
]
QUERIES = [
    "a b NOT c",
    "a NOT b c",
    "a OR b c",
    'a ""',
    "foo_bar",
    '"c d"',
    "title:(summary:a) OR x",
    "-title:a",
    "CAFÉ",
    "b*",
    '"a b"*',
    "^a",
    "summary:^c",
    "a*b",
    "a + b",
    'x AND (a OR "")',
    "title:a OR b",
    'title: "a b" c',
    '"" NOT a OR x',
    "a NOT b NOT c",
    "x NOT a OR c",
    '"kursk region"',
    '"hit the"',
    '"e foo"',
    '"3 5"',
    "com",
    '"c a"',
    "title:b summary:c",
    "d*",
]


@pytest.fixture
def both_stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """A SQLite store and a PostgreSQL store (skipped without a server), each
    having archived the same items."""
    (tmp_path / "sqlite").mkdir()
    sqlite = FACTORIES["sqlite"](tmp_path / "sqlite", timedelta(minutes=5))
    try:
        postgres = FACTORIES["postgres"](tmp_path, timedelta(minutes=5))
    except BaseException:
        sqlite.close()
        raise
    items = [
        replace(item(f"n{number}"), title=title, summary=summary)
        for number, (title, summary) in enumerate(TEXTS)
    ]
    for store in (sqlite, postgres):
        store.commit_poll(
            PollOutcome(
                feed="f", url=URL, items=items, alerts=[], validators=Validators(), archive=items
            ),
            now=NOW,
        )
    yield sqlite, postgres
    sqlite.close()
    postgres.close()
    CLEANUPS["postgres"](tmp_path)


@pytest.mark.parametrize("query", QUERIES)
def test_both_stores_find_the_same_items(both_stores: tuple[Store, Store], query: str) -> None:
    sqlite, postgres = both_stores
    expected = [found.item.identity for found in sqlite.search(query)]
    assert [found.item.identity for found in postgres.search(query)] == expected
