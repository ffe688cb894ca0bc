"""Alerts that must notify, and a crash that costs seconds, not the claim lease.

A storm never swallows a critical alert or a mention; a later source of a
known story goes into its thread without pinging anyone again; and an alert
whose sender died mid-post is taken over by the restarted monitor at once,
found in the channel's history and posted exactly once. Through the real
slack-sdk client against the Slack emulator, real SQLite, and real
processes (the take-over with a `monitor run` killed by SIGKILL).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.app import Monitor
from monitor.cli import main
from monitor.config import load_config
from monitor.delivery.ledger import DeliveryReport
from monitor.delivery.policy import all_mentions, as_reply
from monitor.domain.alert import Alert, OutboxEntry, Target
from monitor.domain.feed import Validators
from monitor.domain.poll import PollOutcome
from monitor.domain.severity import Severity
from monitor.store import sqlite as store_module
from monitor.store.claims import (
    ClaimOwner,
    boot_id,
    owner_gone,
    pid_namespace,
    process_start,
    sees_pids_of,
    this_process,
)
from monitor.store.sqlite import SEND_LEASE, SQLiteStore
from monitor.wiring import build_monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.records import make_item
from tests.support.setup import ROOT, FakeClock, FeedSpec, write_config
from tests.support.slack_emulator import Fault, PostedMessage, SlackEmulator
from tests.test_e2e import TOKEN, RunningMonitor, story, wait_until

STRIKE_RULE = """\
id: strike
title: Strike on a city
severity: critical
tiers:
  - severity: warning
    when:
      any: [reportedly]
match:
  any: [strike]
"""
RUMOUR_RULE = """\
id: rumour
title: Rumour
severity: warning
match:
  any: [rumour]
"""
ROUTES = """
[[slack.routes]]
rules = ["strike"]
mentions = ["subteam:S0DESK"]
[[slack.routes]]
rules = ["rumour"]
mentions = ["user:U0ANALYST"]
[slack.mentions]
critical = ["@here"]
"""
CITIES = (
    "Kharkiv", "Odesa", "Lviv", "Dnipro", "Zaporizhzhia", "Sumy",
    "Poltava", "Chernihiv", "Mykolaiv", "Kherson", "Vinnytsia", "Rivne",
)  # fmt: skip
CRITICAL = ("<!subteam^S0DESK>", "<!here>")
"""What a critical strike alert notifies: its route's user group, and @here."""


def mentions(text: str) -> list[str]:
    """The mentions in Slack syntax in a piece of message text (links are not mentions)."""
    return re.findall(r"<[!@][^>|]*>", text)


def notified(message: PostedMessage) -> tuple[list[str], list[str]]:
    """Who a message notifies: from its fallback text (the notification) and its blocks."""
    return mentions(message.text), mentions(json.dumps(message.blocks or []))


def write_rules(directory: Path) -> Path:
    rules = directory / "rules"
    rules.mkdir()
    (rules / "strike.yaml").write_text(STRIKE_RULE, encoding="utf-8")
    (rules / "rumour.yaml").write_text(RUMOUR_RULE, encoding="utf-8")
    return rules


@dataclass
class Pacing:
    """Monotonic time that moves only when the monitor sleeps to pace its posts."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@dataclass
class Desk:
    """A monitor watching one feed whose backlog is already baselined."""

    monitor: Monitor
    clock: FakeClock
    pacing: Pacing
    feed_server: FeedServer
    items: list[Entry] = field(default_factory=list)

    def publish(self, *titles: str) -> DeliveryReport:
        """New items at the top of the feed, in this order (so queued in this
        order), then one poll and one delivery run."""
        self.clock.advance(minutes=1)
        known = len(self.items)
        self.items[0:0] = [
            Entry(
                title,
                link=f"https://news.example/{known + n}",
                guid=f"urn:{known + n}",
                published=self.clock.now,
            )
            for n, title in enumerate(titles)
        ]
        self.feed_server.set("/news", rss(self.items))
        self.monitor.poll_all()
        return self.monitor.deliver_due()


@pytest.fixture
def make_desk(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Desk]]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    built: list[Monitor] = []

    def make(slack_extra: str = "") -> Desk:
        config = write_config(
            tmp_path,
            [FeedSpec("news", feed_server.url("/news"))],
            slack_api_url=slack_emulator.base_url,
            rules_dir=write_rules(tmp_path),
            extra=ROUTES,
            slack_extra=slack_extra,
        )
        clock, pacing = FakeClock(), Pacing()
        monitor = build_monitor(
            load_config(config),
            clock=clock,
            jitter=lambda: 0.5,
            sleep=pacing.sleep,
            monotonic=pacing.monotonic,
        )
        built.append(monitor)
        feed_server.set("/news", rss([]))
        monitor.poll_all()  # the baseline: nothing in the feed yet
        return Desk(monitor, clock, pacing, feed_server)

    yield make
    for monitor in built:
        monitor.close()


# --- storms ------------------------------------------------------------------------


def test_twelve_critical_alerts_at_once_are_each_posted_paced_with_their_mentions(
    make_desk: Callable[..., Desk], slack_emulator: SlackEmulator
) -> None:
    desk = make_desk()
    report = desk.publish(*(f"Strike on {city}" for city in CITIES))
    assert (report.sent, report.rolled_up) == (12, 0), "no critical alert is rolled up"
    messages = slack_emulator.top_level("#watch-desk")
    assert len(messages) == 12
    assert not [m for m in messages if "rolled into one message" in m.text]
    for message in messages:
        text, blocks = notified(message)
        assert text == list(CRITICAL) and blocks == list(CRITICAL), message.text
    assert {m.text.split(": ")[-1] for m in messages} == {f"Strike on {c}" for c in CITIES}
    assert desk.pacing.sleeps == [1.0] * 11, "one post a second to the channel"


def test_on_a_first_start_a_backlog_of_critical_alerts_is_posted_one_by_one(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A new feed's items of the last hours alert on its first poll: twelve of
    them at the first `monitor once` are twelve posts, each notifying."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    feed_server.set(
        "/news",
        rss(
            [
                Entry(f"Strike on {city}", link=f"https://news.example/{n}", published=an_hour_ago)
                for n, city in enumerate(CITIES)
            ]
        ),
    )
    config = write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"))],
        slack_api_url=slack_emulator.base_url,
        rules_dir=write_rules(tmp_path),
        extra=ROUTES,
        slack_extra="min_interval = 0.01",
    )
    assert main(["once", "--config", str(config)]) == 0
    capsys.readouterr()
    messages = slack_emulator.top_level("#watch-desk")
    assert len(messages) == 12, [m.text for m in messages]
    assert all(notified(m) == (list(CRITICAL), list(CRITICAL)) for m in messages)


def test_a_storm_rolls_up_warnings_with_every_mention_they_carry_but_never_a_critical_alert(
    make_desk: Callable[..., Desk], slack_emulator: SlackEmulator
) -> None:
    desk = make_desk(slack_extra="storm_threshold = 2")
    report = desk.publish(
        "Strike on Kharkiv",
        "Strike on Odesa",
        "Strike reportedly hits Lviv",  # a warning of the strike route
        "Rumour of a ceasefire in Dnipro",  # warnings of the rumour route
        "Rumour of talks in Sumy",
        "Strike on Poltava",  # critical, in the middle of the storm
    )
    assert (report.sent, report.rolled_up) == (6, 3)
    *posts, summary = slack_emulator.top_level("#watch-desk")
    assert [p.text.split(": ")[-1] for p in posts] == [
        "Strike on Kharkiv",
        "Strike on Odesa",
        "Strike on Poltava",
    ]
    assert all(notified(p) == (list(CRITICAL), list(CRITICAL)) for p in posts)
    # The rumour route's alerts come first: in the outbox's turns across
    # rules, the rumours are the first of their rule, Lviv the third of its.
    assert summary.text.startswith(
        "<@U0ANALYST> <!subteam^S0DESK> 3 more alerts for #watch-desk, rolled into one message"
    )
    assert summary.blocks is not None
    body = summary.blocks[-1]["text"]["text"]
    assert body.splitlines()[0] == "<@U0ANALYST> <!subteam^S0DESK>"
    assert "Rumour of talks in Sumy" in body and "Strike reportedly hits Lviv" in body
    assert "<!here>" not in summary.text, "no alert in the summary called for @here"


# --- threads -----------------------------------------------------------------------


def test_later_sources_of_a_story_reply_in_its_thread_without_pinging_anyone_again(
    make_desk: Callable[..., Desk], slack_emulator: SlackEmulator
) -> None:
    desk = make_desk()
    desk.publish("Strike on Kharkiv - AP")
    (parent,) = slack_emulator.messages
    assert notified(parent) == (list(CRITICAL), list(CRITICAL))

    report = desk.publish("Strike on Kharkiv - Reuters", "Strike on Kharkiv - BBC")
    assert report.sent == 2
    replies = slack_emulator.replies_to(parent.ts)
    assert len(replies) == 2
    assert [m.ts for m in slack_emulator.top_level("#watch-desk")] == [parent.ts]
    for reply in replies:
        assert notified(reply) == ([], []), reply.text
        assert reply.text.startswith("CRITICAL: Strike on a city: Strike on Kharkiv")


def test_a_reply_more_severe_than_its_thread_notifies_nobody(
    make_desk: Callable[..., Desk], slack_emulator: SlackEmulator
) -> None:
    desk = make_desk()
    desk.publish("Strike reportedly hits Kharkiv")
    (parent,) = slack_emulator.messages
    assert notified(parent) == (["<!subteam^S0DESK>"], ["<!subteam^S0DESK>"])

    desk.publish("Strike hits Kharkiv - Reuters")  # confirmed: critical
    (reply,) = slack_emulator.replies_to(parent.ts)
    assert reply.text.startswith("CRITICAL: ")
    # Raising a story's severity, and notifying for it, is an escalation: the
    # stories issue's job. A reply in the thread carries no mention at all.
    assert notified(reply) == ([], []), "the critical confirmation pings neither @here nor anyone"


def test_replies_carry_no_mention_and_roll_ups_all_of_them() -> None:
    alert = Alert(
        "strike", "S", Severity.CRITICAL, "f", "guid:a", None, "t", None, "", None, (), NOW
    )
    loud = OutboxEntry(1, alert, 0, "#desk", mentions=("subteam:S1", "@here"))
    assert as_reply(loud) == replace(loud, mentions=()), "whatever its parent had, or if none"
    quiet = OutboxEntry(2, alert, 0, "#desk")
    assert as_reply(quiet) == quiet
    assert all_mentions([("@here", "user:U1"), (), ("user:U2", "@here")]) == (
        "@here",
        "user:U1",
        "user:U2",
    )


# --- claims ------------------------------------------------------------------------

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HERE = this_process()


def queued_store(path: Path) -> tuple[SQLiteStore, int]:
    """A store at ``path`` with one alert queued; the store and the alert's id."""
    store = SQLiteStore(path)
    item = make_item("Strike on Kharkiv", guid="urn:a", published=NOW)
    alert = Alert(
        rule_id="strike",
        rule_title="Strike on a city",
        severity=Severity.CRITICAL,
        feed=item.feed,
        item_identity=item.identity,
        item_guid=item.guid,
        title=item.title,
        link=None,
        summary="",
        published=NOW,
        matched_terms=(),
        created_at=NOW,
    )
    store.commit_poll(
        PollOutcome(
            feed="f",
            url="https://x/feed",
            items=[item],
            alerts=[(alert, Target("#desk"))],
            validators=Validators(),
        ),
        now=NOW,
    )
    (entry,) = store.due_alerts(NOW, 10)
    return store, entry.id


CLAIM_THEN_WAIT = """
import sys
from datetime import datetime
from pathlib import Path
from monitor.store.sqlite import SQLiteStore
store = SQLiteStore(Path(sys.argv[1]))
assert store.claim(int(sys.argv[2]), now=datetime.fromisoformat(sys.argv[3]))
store.close()
print("claimed", flush=True)
sys.stdin.read()
"""


@contextmanager
def claim_in_another_process(
    path: Path, alert_id: int, *, run_with: Sequence[str] = ()
) -> Iterator[subprocess.Popen[str]]:
    """A process that claims the alert, then lives until its stdin is closed;
    ``run_with`` is a command that runs it (in a PID namespace of its own)."""
    sender = subprocess.Popen(
        [
            *run_with,
            sys.executable,
            "-c",
            CLAIM_THEN_WAIT,
            str(path),
            str(alert_id),
            NOW.isoformat(),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert sender.stdout is not None and sender.stdout.readline().strip() == "claimed"
        yield sender
    finally:
        for stream in (sender.stdin, sender.stdout):
            if stream is not None:
                stream.close()
        sender.wait(timeout=30)


def test_a_claim_is_its_senders_while_it_runs_and_taken_over_at_once_when_it_is_gone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.db"
    store, alert_id = queued_store(path)
    soon = NOW + timedelta(seconds=5)
    with claim_in_another_process(path, alert_id) as sender:
        assert store.due_alerts(soon, 10) == [], "the running sender keeps its claim"
        assert not store.claim(alert_id, now=soon)
    (entry,) = store.due_alerts(soon, 10)
    assert entry.id == alert_id and entry.uncertain, "look in the channel before posting"
    assert store.claim(alert_id, now=soon), "taken over within the lease"
    assert f"/{sender.pid}/" in caplog.text and "no longer running; taking it over" in caplog.text
    assert store.due_alerts(soon, 10) == [], "now this process's claim, which is alive"
    store.close()


def test_a_sender_that_exited_but_is_not_yet_collected_counts_as_gone(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store, alert_id = queued_store(path)
    with claim_in_another_process(path, alert_id) as sender:
        assert sender.stdin is not None
        sender.stdin.close()  # it exits; nobody has waited for it yet
        stat = Path(f"/proc/{sender.pid}/stat")
        wait_until(lambda: stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", "a zombie")
        assert [e.id for e in store.due_alerts(NOW, 10)] == [alert_id]
    store.close()


def test_a_claim_whose_pid_now_runs_another_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store, alert_id = queued_store(path)
    assert HERE.started is not None
    with SQLiteStore(path, owner=replace(HERE, started=HERE.started - 1)) as earlier:
        assert earlier.claim(alert_id, now=NOW)
    assert [e.id for e in store.due_alerts(NOW, 10)] == [alert_id]
    assert store.claim(alert_id, now=NOW)
    store.close()


def test_a_claim_written_without_boot_id_and_pid_namespace_keeps_its_lease(
    tmp_path: Path,
) -> None:
    """Claims of the first schema-3 monitors name host, pid and start only:
    that is not enough to tell their sender is gone, even when its pid is free."""
    path = tmp_path / "state.db"
    store, alert_id = queued_store(path)
    exited = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    with SQLiteStore(path) as sender:
        assert sender.claim(alert_id, now=NOW)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "UPDATE alerts SET claimed_by = ? WHERE id = ?",
            (f"{HERE.host}/{int(exited.stdout)}/1", alert_id),
        )
    assert store.due_alerts(NOW + SEND_LEASE - timedelta(seconds=1), 10) == []
    assert not store.claim(alert_id, now=NOW + timedelta(minutes=1))
    assert [e.id for e in store.due_alerts(NOW + SEND_LEASE, 10)] == [alert_id]
    store.close()


def test_a_claim_made_on_another_host_keeps_its_lease(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store, alert_id = queued_store(path)
    with SQLiteStore(path, owner=ClaimOwner("another-host", 1, 1)) as elsewhere:
        assert elsewhere.claim(alert_id, now=NOW)
    assert store.due_alerts(NOW + SEND_LEASE - timedelta(seconds=1), 10) == []
    assert not store.claim(alert_id, now=NOW + timedelta(minutes=1))
    assert [e.id for e in store.due_alerts(NOW + SEND_LEASE, 10)] == [alert_id]
    assert store.claim(alert_id, now=NOW + SEND_LEASE)
    store.close()


def test_a_claims_owner_is_judged_only_where_host_boot_and_pid_namespace_are_ours() -> None:
    here = ClaimOwner("h", 10, 500, "boot-1", 4026531836)
    other = replace(here, pid=11, started=600)
    assert owner_gone(other, here=here, running_since=None)
    assert owner_gone(other, here=here, running_since=601), "pid reused"
    assert not owner_gone(other, here=here, running_since=600)
    assert not owner_gone(here, here=here, running_since=500), "this process"
    for unjudgeable, why in [
        (replace(other, host="g"), "another host"),
        (replace(other, pid_namespace=4026532176), "a container with the same host name"),
        (replace(other, boot="boot-0"), "a boot ago"),
        (replace(other, boot=None), "boot unknown"),
        (replace(other, pid_namespace=None), "PID namespace unknown"),
        (replace(other, started=None), "start unknown"),
    ]:
        assert not sees_pids_of(here, unjudgeable), why
        assert not owner_gone(unjudgeable, here=here, running_since=None), why
    for blind in (
        replace(here, started=None),
        replace(here, boot=None),
        replace(here, pid_namespace=None),
    ):
        assert not owner_gone(other, here=blind, running_since=None), blind


def test_a_claims_owner_reads_back_from_every_format_and_unknown_ones_keep_the_lease() -> None:
    here = ClaimOwner("h", 10, 500, "06aea476-90cf-49b5-b0fe-19a5fe8ee23d", 4026531836)
    assert str(here) == "h/10/500 boot=06aea476-90cf-49b5-b0fe-19a5fe8ee23d pidns=4026531836"
    for owner in (here, HERE, ClaimOwner("h.example/x", 1, None)):
        assert ClaimOwner.parse(str(owner)) == owner
    old = ClaimOwner.parse("h/11/600")
    assert old == ClaimOwner("h", 11, 600, None, None), "written by the first schema-3 monitors"
    assert not owner_gone(old, here=here, running_since=None)
    for unreadable in (
        None,
        "",
        "garbage",
        "h/x/600",
        "h/11/600 boot",
        "h/11/600 pidns=abc",
        "h/11/600 boot=a boot=b",
        "h/11/600 boot=a pidns=1 timens=2",  # a later version's mark: judge none by half
    ):
        assert ClaimOwner.parse(unreadable) is None, unreadable


def test_process_start_reads_proc_and_says_when_proc_cannot_tell(tmp_path: Path) -> None:
    assert process_start(os.getpid()) == HERE.started
    with pytest.raises(OSError):
        process_start(os.getpid(), proc=tmp_path / "no-proc")
    blind = this_process(proc=tmp_path / "no-proc")
    assert (blind.started, blind.boot, blind.pid_namespace) == (None, None, None)
    assert HERE.boot == Path("/proc/sys/kernel/random/boot_id").read_text().strip() == boot_id()
    assert HERE.pid_namespace == os.stat("/proc/self/ns/pid").st_ino == pid_namespace()


def test_a_proc_that_counts_pids_in_another_namespace_names_none(tmp_path: Path) -> None:
    """A process in a PID namespace of its own whose /proc is still its
    parent's: NSpid lists its pid there and in its own, and no pid it reads
    there can be trusted."""
    proc = tmp_path / "proc"
    (proc / "self" / "ns").mkdir(parents=True)
    (proc / "self" / "ns" / "pid").write_text("")
    status = proc / "self" / "status"
    status.write_text(f"Name:\tpython3\nNSpid:\t{os.getpid()}\n")
    assert pid_namespace(proc) == (proc / "self" / "ns" / "pid").stat().st_ino
    status.write_text(f"Name:\tpython3\nNSpid:\t{os.getpid() + 4000}\t{os.getpid()}\n")
    assert pid_namespace(proc) is None
    status.write_text("Name:\tpython3\n")  # a kernel too old to say
    assert pid_namespace(proc) is None


# --- claims across PID namespaces (containers sharing the host's name) -------------


def in_a_pid_namespace_of_its_own(*, mount_proc: bool = True) -> list[str]:
    """The command that runs a program in a new PID namespace (with a /proc of
    its own unless ``mount_proc`` is False); skips where this is not allowed."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare(1) (util-linux) is not installed")
    command = [unshare, "--pid", "--fork", *(["--mount-proc"] if mount_proc else [])]
    probe = subprocess.run([*command, "true"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(
            "this system does not allow a new PID namespace (needs root or user "
            f"namespaces): {probe.stderr.strip()}"
        )
    return command


def claimed_by(path: Path, alert_id: int) -> ClaimOwner | None:
    with closing(sqlite3.connect(path)) as db:
        (text,) = db.execute("SELECT claimed_by FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    return ClaimOwner.parse(text)


def test_a_live_sender_in_another_pid_namespace_with_our_host_name_keeps_its_claim(
    tmp_path: Path,
) -> None:
    """Its pid means another process, or none, in our /proc: its claim is not
    taken over while it runs, nor at once after; the lease decides."""
    container = in_a_pid_namespace_of_its_own()
    path = tmp_path / "state.db"
    store, alert_id = queued_store(path)
    soon = NOW + timedelta(seconds=5)
    with claim_in_another_process(path, alert_id, run_with=container):
        owner = claimed_by(path, alert_id)
        assert owner is not None and (owner.host, owner.boot) == (HERE.host, HERE.boot)
        assert owner.pid_namespace not in (None, HERE.pid_namespace), owner
        assert store.due_alerts(soon, 10) == [], "the running sender keeps its claim"
        assert not store.claim(alert_id, now=soon)
    assert store.due_alerts(soon, 10) == [], "its end cannot be seen from here either"
    (entry,) = store.due_alerts(NOW + SEND_LEASE, 10)
    assert entry.id == alert_id and entry.uncertain
    store.close()


TRY_TO_TAKE_OVER = """
import json, sys
from datetime import datetime
from pathlib import Path
from monitor.store.sqlite import SQLiteStore
store = SQLiteStore(Path(sys.argv[1]))
now = datetime.fromisoformat(sys.argv[3])
due = [entry.id for entry in store.due_alerts(now, 10)]
print(json.dumps({"due": due, "claimed": store.claim(int(sys.argv[2]), now=now)}))
"""


def test_a_process_in_another_pid_namespace_does_not_take_a_live_senders_claim(
    tmp_path: Path,
) -> None:
    """This process (alive) holds the claim; a monitor in a container with
    the same host name, which cannot see this pid, leaves it alone."""
    container = in_a_pid_namespace_of_its_own()
    path = tmp_path / "state.db"
    store, alert_id = queued_store(path)
    assert store.claim(alert_id, now=NOW)
    attempt = subprocess.run(
        [
            *container,
            sys.executable,
            "-c",
            TRY_TO_TAKE_OVER,
            str(path),
            str(alert_id),
            (NOW + timedelta(seconds=5)).isoformat(),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    assert json.loads(attempt.stdout) == {"due": [], "claimed": False}
    assert claimed_by(path, alert_id) == HERE
    store.close()


def test_a_process_whose_proc_is_another_namespaces_claims_what_cannot_be_judged(
    tmp_path: Path,
) -> None:
    """Entering a PID namespace without mounting its /proc leaves the parent's:
    such a process names no namespace or start time, so its claims keep the lease."""
    command = in_a_pid_namespace_of_its_own(mount_proc=False)
    found = subprocess.run(
        [
            *command,
            sys.executable,
            "-c",
            "from monitor.store.claims import this_process; print(this_process())",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    owner = ClaimOwner.parse(found.stdout.strip())
    assert owner is not None and owner.pid == 1, found.stdout
    assert (owner.started, owner.pid_namespace, owner.boot) == (None, None, HERE.boot)


def test_a_version_2_database_migrates_and_its_old_claims_keep_the_lease(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    db = sqlite3.connect(path)
    db.executescript(store_module._SCHEMA)
    for statement in store_module._MIGRATIONS[2].split(";"):
        if statement.strip():
            db.execute(statement, {"now": NOW.isoformat()} if ":now" in statement else {})
    db.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    db.execute(
        "INSERT INTO alerts (rule_id, item_identity, feed, severity, payload, created_at, "
        "channel, status, next_attempt_at, claimed_at) VALUES ('strike', 'guid:a', 'f', "
        "'critical', ?, ?, '#desk', 'sending', ?, ?)",
        (
            Alert(
                "strike", "S", Severity.CRITICAL, "f", "guid:a", None, "t", None, "", None, (), NOW
            ).to_json(),
            NOW.isoformat(),
            NOW.isoformat(),
            NOW.isoformat(),
        ),
    )
    db.commit()
    db.close()
    with SQLiteStore(path) as store:
        version = store._query("SELECT value FROM meta WHERE key = 'schema_version'")[0][0]
        assert int(version) == store_module.SCHEMA_VERSION >= 3
        assert store.due_alerts(NOW + timedelta(minutes=1), 10) == [], (
            "a claim from before the upgrade names no sender: it keeps its lease"
        )
        (entry,) = store.due_alerts(NOW + SEND_LEASE, 10)
        assert entry.uncertain


# --- a crash, end to end -------------------------------------------------------------


def alert_rows(config: Path) -> list[tuple[str, str | None]]:
    with closing(sqlite3.connect(config.parent / "state" / "monitor.db")) as db:
        return [tuple(row) for row in db.execute("SELECT status, claimed_by FROM alerts")]


@pytest.mark.e2e
def test_a_monitor_killed_while_slack_holds_its_answer_is_taken_over_within_seconds(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    """SIGKILL while Slack has the post but not yet answered: the restarted
    monitor takes the dead process's claim at once (default lease of 10 min),
    finds the post with conversations.history and records it; one post."""
    slack_emulator.token = TOKEN
    feed_server.set("/news", rss([]))
    config = write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"), interval="1s")],
        slack_api_url=slack_emulator.base_url,
    )
    # Slack's answer must still be awaited when the process is killed.
    text = config.read_text(encoding="utf-8")
    assert text.index("[slack]") < text.index('timeout = "2s"') < text.index("[fetch]")
    config.write_text(text.replace('timeout = "2s"\n', 'timeout = "60s"\n', 1), encoding="utf-8")
    assert "claim_lease" not in text, "the default lease: ten minutes"

    first = RunningMonitor(config)
    try:
        wait_until(lambda: feed_server.hits("/news") >= 2, "the baseline poll")
        slack_emulator.queue_faults("chat.postMessage", Fault.accept_then_hang(120))
        feed_server.set("/news", rss([story(7, datetime.now(UTC))]))
        slack_emulator.wait_for_messages(1, timeout=30)
    finally:
        first.kill()
    ((status, claimed_by),) = alert_rows(config)
    assert status == "sending" and claimed_by is not None
    owner = ClaimOwner.parse(claimed_by)
    assert owner is not None and (owner.host, owner.pid) == (HERE.host, first.process.pid)

    restarted = RunningMonitor(config)
    try:
        # Within seconds in practice; the bound only catches the old wait for the lease.
        wait_until(lambda: alert_rows(config)[0][0] == "sent", "the alert resolved", timeout=60)
    finally:
        log = restarted.stop(signal.SIGTERM)
    assert len(slack_emulator.messages) == 1, "posted exactly once"
    assert slack_emulator.calls_to("conversations.history"), "looked in the channel first"
    assert "no longer running; taking it over" in log
    assert "its answer was lost); not posting it again" in log
