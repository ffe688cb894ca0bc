"""A desk to show: a monitor that polled loopback feeds and posted to the
Slack emulator, with a story two outlets told, a failed alert, a feed failing
long enough to open an incident, a backfill alert, and hostile text in every
field a feed or a rule file controls (the ``desk`` fixture of the web
console's page and browser tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.app import Monitor
from monitor.config import load_config
from monitor.domain.alert import Alert, Target
from monitor.domain.feed import Validators
from monitor.domain.item import Item
from monitor.domain.poll import PollOutcome
from monitor.domain.severity import Severity
from monitor.wiring import build_monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.monitors import TOKEN, FakePacing
from tests.support.setup import FakeClock, FeedSpec, write_config
from tests.support.slack_emulator import SlackEmulator
from tests.support.web_console import HOSTILE
from tests.test_stories_e2e import WORDINGS

PAYLOAD = " ".join(HOSTILE)
RULES = """\
id: kursk-watch
title: "Kursk watch {payload}"
severity: warning
description: "Fighting around Kursk. {payload} javascript:alert(1)"
match:
  any: [kursk]
tests:
  - title: Fighting near Kursk
    expect: warning
  - title: "Weather in Paris {payload}"
    expect: warning
"""
ENTITY_RULE = """\
id: entity-list
title: Entity List additions
severity: critical
description: Firms added to the US Entity List.
match:
  any: [entity list]
"""


@dataclass
class Desk:
    """A monitor whose state holds one of everything the console shows."""

    monitor: Monitor
    clock: FakeClock
    failed_alert_id: int


def hostile_item(n: int, clock: FakeClock) -> Item:
    return Item(
        feed="wire",
        feed_tags=("news",),
        identity=f"guid:hostile-{n}",
        guid=f"hostile-{n}",
        title=f"Kursk {PAYLOAD} ({n})",
        summary=f"Kursk summary {PAYLOAD}",
        link="javascript:alert(1)"
        if n == 1
        else f'https://x.example/{n}"><img src=x onerror=alert(1)>',
        published=clock.now,
        updated=None,
        publisher=f"Outlet {PAYLOAD}",
    )


def hostile_alert(it: Item, clock: FakeClock, *, backfill_of: datetime | None = None) -> Alert:
    return Alert(
        rule_id="kursk-watch",
        rule_title=f"Kursk watch {PAYLOAD}",
        severity=Severity.WARNING,
        feed=it.feed,
        item_identity=it.identity,
        item_guid=it.guid,
        title=it.title,
        link=it.link,
        summary=it.summary,
        published=it.published,
        matched_terms=("kursk",),
        created_at=clock.now,
        publisher=it.publisher,
        backfill_of=backfill_of,
    )


@pytest.fixture
def desk(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Desk]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "watch.yaml").write_text(RULES.format(payload=PAYLOAD.replace('"', '\\"')), "utf-8")
    (rules / "entity.yaml").write_text(ENTITY_RULE, "utf-8")
    feeds = [
        FeedSpec("outlet-a", feed_server.url("/outlet-a")),
        FeedSpec("outlet-b", feed_server.url("/outlet-b")),
        # A local path that does not exist: its error names it, payload and all.
        FeedSpec("broken", str(tmp_path / "gone <script>alert(1)</script>.xml"), interval="1m"),
    ]
    for name in ("outlet-a", "outlet-b"):
        feed_server.set(f"/{name}", rss([]))
    config = write_config(
        tmp_path,
        feeds,
        slack_api_url=slack_emulator.base_url,
        rules_dir=rules,
        extra='[ops]\nfailing_after = "5m"',
    )
    pacing = FakePacing()
    monitor = build_monitor(
        load_config(config),
        clock=clock,
        jitter=lambda: 0.5,
        sleep=pacing.sleep,
        monotonic=pacing.monotonic,
    )
    try:
        monitor.poll_all()  # baselines; the broken feed starts failing
        clock.advance(minutes=10)
        for n, (name, (title, summary)) in enumerate(
            zip(("outlet-a", "outlet-b"), WORDINGS[:2], strict=True)
        ):
            feed_server.set(
                f"/{name}",
                rss(
                    [
                        Entry(
                            title,
                            link=f"https://{name}.example/{n}",
                            guid=f"{name}-{n}",
                            summary=summary,
                            published=clock.now,
                            source=f"Outlet {name[-1].upper()} {PAYLOAD}",
                        ),
                        Entry(
                            f"Shelling near Kursk {PAYLOAD}",
                            link="javascript:alert(1)",
                            guid=f"{name}-kursk",
                            summary=f"Kursk {PAYLOAD}",
                            published=clock.now,
                        ),
                    ]
                ),
            )
            monitor.poll_all()
        monitor.deliver_due()
        # Text the feed parser would have cleaned, written as a poll writes it.
        items = [hostile_item(n, clock) for n in (1, 2)]
        store = monitor.store
        store.commit_poll(
            PollOutcome(
                feed="wire",
                url="https://wire.example/feed",
                items=items,
                alerts=[
                    (hostile_alert(it, clock), Target(f"#desk-{n}")) for n, it in enumerate(items)
                ],
                validators=Validators(),
                archive=items,
            ),
            now=clock.now,
        )
        store.queue_alerts(
            [
                (
                    hostile_alert(
                        replace(
                            items[0], identity="guid:backfilled", title="Backfilled Kursk item"
                        ),
                        clock,
                        backfill_of=clock.now - timedelta(hours=3),
                    ),
                    Target("#watch-desk"),
                )
            ],
            now=clock.now,
        )
        pending = store.outbox(["pending"])
        failed = next(e for e in pending if e.channel == "#desk-1")
        assert store.claim(failed.id, now=clock.now)
        store.mark_failed(failed.id, attempts=3, now=clock.now, error=f"msg_too_long {PAYLOAD}")
        yield Desk(monitor=monitor, clock=clock, failed_alert_id=failed.id)
    finally:
        monitor.close()
