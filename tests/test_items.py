"""Normalisation is pure: these are plain unit tests, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.text import (
    canonical_link,
    fold_for_matching,
    fold_whitespace,
    html_to_text,
    item_identity,
    plain_text,
    utc_datetime,
)


def test_html_is_reduced_to_plain_text_with_entities_decoded() -> None:
    markup = "<p>Seoul &amp; Kyiv<br/>agree</p><script>alert(1)</script><style>p{}</style><div>on&nbsp;shells</div>"
    assert html_to_text(markup) == "Seoul & Kyiv agree on\xa0shells".replace("\xa0", " ")


def test_plain_text_title_keeps_angle_brackets() -> None:
    assert plain_text("Profits<losses & more", "text/plain") == "Profits<losses & more"
    assert plain_text("<b>Bold</b> claim", "text/html") == "Bold claim"


def test_control_and_bidi_characters_are_removed() -> None:
    assert fold_whitespace("a\x1b[31mred\u202e b \n\t c") == "a[31mred b c"


def test_canonical_link_drops_tracking_fragment_and_default_port() -> None:
    assert (
        canonical_link("HTTPS://Example.COM:443/a/b?utm_source=x&id=7&fbclid=y#top")
        == "https://example.com/a/b?id=7#top"
    ), "the fragment is kept: live blogs tell posts apart by it"
    assert canonical_link("http://example.com") == "http://example.com/"
    assert canonical_link("http://example.com:8080/x") == "http://example.com:8080/x"
    assert canonical_link("urn:uuid:1234") == "urn:uuid:1234"
    assert (
        canonical_link("https://x.example/a\x1b]2;pwned\x07 b") == "https://x.example/a]2;pwned%20b"
    )


def test_identity_layers_guid_then_link_then_fingerprint() -> None:
    feed = "https://news.example/feed"
    assert (
        item_identity(feed, "tag:news.example,2026:1", "https://x/1", "t", "s")
        == "guid:tag:news.example,2026:1"
    )
    # A bare number is only unique within its feed, so it is qualified.
    assert item_identity(feed, "12345", None, "t", "s") == "guid:https://news.example/feed#12345"
    assert item_identity(feed, None, "https://x/1", "t", "s") == "link:https://x/1"
    fp = item_identity(feed, None, None, "Title", "Summary")
    assert fp.startswith("fp:")
    assert fp == item_identity(feed, None, None, "title", "summary"), "fingerprint ignores case"
    assert fp != item_identity(feed, None, None, "Title", "Other summary")


def test_kst_is_corrected_where_feedparser_reads_it_as_utc() -> None:
    # feedparser returns 09:00 UTC for "09:00 KST"; the truth is 00:00 UTC.
    parsed = (2026, 12, 1, 9, 0, 0, 1, 335, 0)
    assert utc_datetime(parsed, "Tue, 01 Dec 2026 09:00:00 KST") == datetime(
        2026, 12, 1, 0, 0, tzinfo=UTC
    )
    # Zones feedparser already applies, and numeric offsets, are left alone.
    assert utc_datetime(parsed, "Tue, 01 Dec 2026 04:00:00 EST") == datetime(
        2026, 12, 1, 9, 0, tzinfo=UTC
    )
    assert utc_datetime(parsed, "2026-12-01T18:00:00+09:00") == datetime(
        2026, 12, 1, 9, 0, tzinfo=UTC
    )
    assert utc_datetime(None, "garbage") is None


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("North-Korean troops", "north korean troops"),
        ("N. Korea's KPA", "n korea s kpa"),
        ("Zelenskyy’s “plan”", "zelenskyy s plan"),
        ("Škoda Đà Nẵng", "skoda da nang"),
        ("  many\n\nspaces ", "many spaces"),
    ],
)
def test_text_folds_for_whole_word_matching(text: str, folded: str) -> None:
    assert fold_for_matching(text) == folded
