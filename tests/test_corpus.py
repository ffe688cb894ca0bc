"""Robustness on real-world documents nobody on the team wrote.

Every document of feedparser's own test corpus, and every real feed of the
benchmark corpus, must go through parse and normalise without an unhandled
exception: the result is items, or a FeedError that says what is wrong. The
timeout marker is a hang guard, not a speed assertion.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest

from monitor.errors import FeedError
from monitor.sources.rss import ParseOptions, parse_feed

pytestmark = pytest.mark.corpus

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
FEEDPARSER_CORPUS = CORPORA / "feedparser"
REALWORLD_CORPUS = CORPORA / "realworld"
_HEADER = re.compile(r"^Header:\s*([^:]+):\s*(.*)$", re.M)


def _files(root: Path) -> list[Path]:
    return (
        sorted(p for p in root.rglob("*") if p.is_file() and p.name != "README.md")
        if root.is_dir()
        else []
    )


def _declared_headers(body: bytes) -> dict[str, str]:
    """The HTTP headers a corpus document says it is served with.

    UTF-16/32 documents show their comment only once decoded.
    """
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            text = body.decode(encoding, "replace")
            break
    else:
        text = body[:4096].decode("latin-1")
    comment_end = text.find("-->")
    head = text[: comment_end if comment_end >= 0 else 4096]
    return {name.strip().lower(): value.strip() for name, value in _HEADER.findall(head)}


def _check(path: Path, root: Path) -> None:
    body = path.read_bytes()
    try:
        parsed = parse_feed(
            body,
            ParseOptions(
                feed_name="corpus",
                feed_url="http://example.com/feed",
                tags=("news",),
                headers=_declared_headers(body),
            ),
        )
    except FeedError as exc:
        assert str(exc), f"{path.relative_to(root)}: an error with no message"
        return
    for item in parsed.items:
        assert item.identity and "\x00" not in item.title + item.summary
        assert item.published is None or item.published.tzinfo is not None


@pytest.mark.timeout(60)
@pytest.mark.skipif(
    not FEEDPARSER_CORPUS.is_dir(), reason=f"corpus not present at {FEEDPARSER_CORPUS}"
)
@pytest.mark.parametrize(
    "path", _files(FEEDPARSER_CORPUS), ids=lambda p: str(p.relative_to(FEEDPARSER_CORPUS))
)
def test_feedparser_corpus_document_gives_items_or_a_clear_error(path: Path) -> None:
    _check(path, FEEDPARSER_CORPUS)


@pytest.mark.timeout(60)
@pytest.mark.skipif(
    not REALWORLD_CORPUS.is_dir(), reason=f"corpus not present at {REALWORLD_CORPUS}"
)
@pytest.mark.parametrize("path", _files(REALWORLD_CORPUS), ids=lambda p: p.name)
def test_realworld_feed_gives_items_or_a_clear_error(path: Path) -> None:
    _check(path, REALWORLD_CORPUS)


def test_corpora_are_found_or_the_skip_says_where_they_were_looked_for() -> None:
    # Guards the path arithmetic: in this repository's CI the corpora sit beside the clone.
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora not present at {CORPORA}")
    assert len(_files(FEEDPARSER_CORPUS)) > 2000
    assert len(_files(REALWORLD_CORPUS)) == 200
