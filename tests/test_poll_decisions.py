"""One poll's decisions (pure): which state it continues from, when the feed
is due again, and when its newest item appeared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.domain.feed import FeedState, Validators
from monitor.pipeline.decide import newest_item_at, next_poll_at, poll_start
from monitor.settings import Config

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def hide_password(url: str) -> str:
    return url.replace("s3cret", "REDACTED").replace("n3w", "REDACTED")


def state(url: str, *, read_before: bool = True) -> FeedState:
    return FeedState(
        name="wire",
        url=url,
        validators=Validators(etag='"v1"'),
        first_success_at=NOW - timedelta(days=1) if read_before else None,
        last_success_at=None,
        last_error=None,
        last_error_kind=None,
        consecutive_failures=0,
        body_hash="abc",
    )


def config() -> Config:
    return Config.model_validate(
        {
            "slack": {"channel": "#desk"},
            "polling": {"default_interval": "5m", "jitter": 0.0, "max_backoff": "1h"},
            "feeds": [{"name": "wire", "url": "https://example.org/feed"}],
        }
    )


def test_a_poll_continues_from_the_state_of_the_same_url() -> None:
    start = poll_start(state("https://example.org/feed"), "https://example.org/feed", str)
    assert not start.first_poll
    assert start.validators == Validators(etag='"v1"')
    assert start.last_body_hash == "abc"


def test_a_feed_repointed_at_another_url_starts_afresh_and_is_baselined() -> None:
    start = poll_start(state("https://old.example.org/feed"), "https://example.org/feed", str)
    assert start.first_poll
    assert start.state is None
    assert start.validators == Validators()
    assert start.last_body_hash is None


def test_a_new_password_in_the_url_is_the_same_source() -> None:
    stored = state("https://u:REDACTED@example.org/feed")
    start = poll_start(stored, hide_password("https://u:n3w@example.org/feed"), hide_password)
    assert start.state == stored
    assert not start.first_poll


def test_a_feed_never_read_successfully_is_still_on_its_first_poll() -> None:
    start = poll_start(
        state("https://example.org/feed", read_before=False), "https://example.org/feed", str
    )
    assert start.first_poll
    assert start.validators == Validators(etag='"v1"')


def test_the_next_poll_backs_off_after_failures_and_honours_the_server() -> None:
    cfg = config()
    (feed,) = cfg.feeds
    due = next_poll_at(cfg, feed, now=NOW, random_unit=0.0, failures=0)
    assert due == NOW + timedelta(minutes=5)
    assert next_poll_at(cfg, feed, now=NOW, random_unit=0.0, failures=2) == NOW + timedelta(
        minutes=20
    )
    asked = next_poll_at(
        cfg, feed, now=NOW, random_unit=0.0, failures=0, asked_wait=timedelta(hours=3)
    )
    assert asked == NOW + timedelta(hours=1)  # capped at polling.max_backoff


def test_the_newest_item_is_capped_at_now_and_undated_items_are_news_now() -> None:
    assert newest_item_at([], NOW) is None
    old = NOW - timedelta(hours=2)
    assert newest_item_at([old], NOW) == old
    assert newest_item_at([old, None], NOW) == NOW
    assert newest_item_at([NOW + timedelta(minutes=5)], NOW) == NOW  # a fast clock
    assert newest_item_at([NOW + timedelta(days=400)], NOW) == NOW  # far ahead: unknown, so now
