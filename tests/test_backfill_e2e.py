"""Backfill in a real monitor: a rule added or changed while the monitor runs
(hot reload), or between two runs, is run over what the monitor read in the
last ``rules.backfill``; the desk gets what it would have raised, once,
marked as backfill in Slack, and never again after a restart."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from monitor.app import Monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.monitors import TOKEN, MonitorMaker
from tests.support.setup import FakeClock, FeedSpec, write_config
from tests.support.slack_emulator import PostedMessage, SlackEmulator

KOREA = "id: korea\ntitle: North Korean troops\nseverity: warning\nmatch:\n  any: [north korean]\n"
DEPOT = (
    "id: depot\ntitle: Depot strikes\nseverity: warning\n"
    "description: Strikes on ammunition depots.\nmatch:\n  any: [ammunition depot]\n"
)


def entry(title: str, slug: str, published: datetime) -> Entry:
    link = f"https://news.example/{slug}"
    return Entry(title, link=link, guid=link, summary=f"{title}.", published=published)


def rules_dir(tmp_path: Path, *texts: str) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir(exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    for text in texts:
        rule_id = text.split("\n", 1)[0].removeprefix("id: ")
        (directory / f"{rule_id}.yaml").write_text(text, encoding="utf-8")
    return directory


def context_text(message: PostedMessage) -> str:
    return " ".join(
        element["text"]
        for block in message.sent_blocks
        if block["type"] == "context"
        for element in block["elements"]
    )


def read_news(monitor: Monitor, feed_server: FeedServer, entries: list[Entry]) -> None:
    feed_server.set("/news", rss(entries))
    monitor.poll_all()
    monitor.deliver_due()


def test_a_rule_added_while_running_alerts_what_it_missed_once(
    tmp_path: Path,
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    directory = rules_dir(tmp_path, KOREA)
    monitor = make_monitor(rules_dir=directory)
    monitor.start()  # the first start records the rules: nothing to backfill
    too_old = entry("Drone hits ammunition depot in Toropets", "toropets", clock.now)
    read_news(monitor, feed_server, [too_old])
    clock.advance(hours=7)
    korea = entry("North Korean troops seen near Kursk", "korea", clock.now)
    depot = entry("Ammunition depot ablaze after strike in Tikhoretsk", "tikhoretsk", clock.now)
    read_news(monitor, feed_server, [too_old, korea, depot])
    assert [m.text for m in slack_emulator.messages] == [
        "WARNING: North Korean troops: North Korean troops seen near Kursk"
    ]

    clock.advance(minutes=30)
    rules_dir(tmp_path, KOREA, DEPOT)  # ops add a rule; the monitor reloads it
    assert monitor.reload_rules(at_once=True)
    monitor.deliver_due()
    posted = slack_emulator.messages[1:]
    # Only the item read within rules.backfill (6h): the Toropets one is older.
    assert [m.text for m in posted] == [
        "WARNING (backfill): Depot strikes: Ammunition depot ablaze after strike in Tikhoretsk"
    ]
    assert "backfill: read" in context_text(posted[0])
    assert "before this rule" in context_text(posted[0])

    # A restart on the same state: the rule is known, nothing is raised again.
    restarted = make_monitor(rules_dir=directory)
    restarted.start()
    restarted.deliver_due()
    # Rewording the rule's description is no change to what it matches.
    rules_dir(tmp_path, KOREA, DEPOT.replace("Strikes on ammunition depots.", "Depot fires."))
    restarted.reload_rules(at_once=True)
    restarted.deliver_due()
    assert len(slack_emulator.messages) == 2


def test_a_changed_rule_backfills_only_what_it_newly_raises(
    tmp_path: Path,
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    directory = rules_dir(tmp_path, KOREA, DEPOT)
    monitor = make_monitor(rules_dir=directory)
    monitor.start()
    items = [
        entry("Ammunition depot hit in Bryansk region", "bryansk", clock.now),
        entry("Fuel depot burns in Novorossiysk after drone attack", "fuel", clock.now),
    ]
    read_news(monitor, feed_server, items)
    assert len(slack_emulator.messages) == 1
    clock.advance(hours=1)
    rules_dir(
        tmp_path, KOREA, DEPOT.replace("[ammunition depot]", "[ammunition depot, fuel depot]")
    )
    assert monitor.reload_rules(at_once=True)
    monitor.deliver_due()
    assert [m.text for m in slack_emulator.messages[1:]] == [
        "WARNING (backfill): Depot strikes: Fuel depot burns in Novorossiysk after drone attack"
    ]


def test_backfill_zero_turns_it_off(
    tmp_path: Path,
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    directory = rules_dir(tmp_path, KOREA)
    monitor = make_monitor(rules_dir=directory, rules_extra='backfill = "0s"')
    monitor.start()
    read_news(monitor, feed_server, [entry("Ammunition depot hit in Kursk", "k", clock.now)])
    rules_dir(tmp_path, KOREA, DEPOT)
    assert monitor.reload_rules(at_once=True)
    monitor.deliver_due()
    assert slack_emulator.messages == []
    assert set(monitor.store.rule_versions()) == {"korea", "depot"}
    # The rule is recorded all the same: turning backfill on later raises nothing old.
    later = make_monitor(rules_dir=directory)
    later.start()
    later.deliver_due()
    assert slack_emulator.messages == []


def test_monitor_once_backfills_a_rule_added_between_runs_once(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    """Real processes: three runs of `monitor once` from cron, a rule added
    before the second; its backfill is posted by the second, not the third."""
    directory = rules_dir(tmp_path, KOREA)
    config = write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"))],
        slack_api_url=slack_emulator.base_url,
        rules_dir=directory,
    )
    now = datetime.now(UTC).replace(microsecond=0)
    feed_server.set(
        "/news",
        rss([entry("Ammunition depot explodes near Voronezh", "voronezh", now)]),
    )

    def once() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "once", "--config", str(config)],
            capture_output=True,
            text=True,
            env={**os.environ, "SLACK_BOT_TOKEN": TOKEN},
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stderr

    once()  # first run: the depot item is read, no rule matches it
    assert slack_emulator.messages == []
    rules_dir(tmp_path, KOREA, DEPOT)
    log = once()
    assert "backfill: rule depot over 1 archived item read in the last 6h: 1 alert queued" in log
    assert [m.text for m in slack_emulator.messages] == [
        "WARNING (backfill): Depot strikes: Ammunition depot explodes near Voronezh"
    ]
    once()
    assert len(slack_emulator.messages) == 1
