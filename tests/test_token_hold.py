"""A Slack token that Slack rejects holds delivery instead of failing every
alert: `monitor run` refuses to start with it, `monitor once` polls, keeps
the alerts pending and exits 3, and a token revoked while `monitor run`
runs stops delivery with one ERROR line and a 503 from /healthz until Slack
accepts the token again. Real slack-sdk against the Slack emulator."""

from __future__ import annotations

import logging
import re
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from monitor.app import Monitor
from monitor.config import load_config
from monitor.delivery.message import Notice
from monitor.delivery.sinks.slack import TOKEN_FIXES, TOKEN_SLACK_ERRORS, SlackSink
from monitor.delivery.slack_check import (
    Identity,
    Refusal,
    TokenRejected,
    TokenUnverified,
    token_verdict,
)
from monitor.delivery.token_hold import TOKEN_RECHECK_EVERY, TokenHold, token_recheck_due
from monitor.domain.alert import OutboxEntry
from monitor.domain.kinds import OutboxStatus
from monitor.errors import PermanentDeliveryError, TokenRejectedError
from monitor.store.sqlite import SQLiteStore
from monitor.wiring import build_monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FakeClock, FeedSpec, run_monitor, write_config
from tests.support.slack_emulator import Fault, SlackEmulator
from tests.test_e2e import TOKEN, RunningMonitor, wait_until

WRONG_TOKEN = "xoxb-not-the-token-slack-knows"
RULE = "id: watch\ntitle: Watch\nseverity: warning\nmatch:\n  any: [alpha]\n"
EXIT_DELIVERY_HELD = 3


def alpha(n: int, published: datetime) -> Entry:
    return Entry(
        f"Alpha headline number {n}",
        link=f"https://news.example/alpha-{n}",
        guid=f"alpha-{n}",
        published=published,
    )


def desk(tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "watch.yaml").write_text(RULE, encoding="utf-8")
    return write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"), interval="1s")],
        slack_api_url=slack_emulator.base_url,
        rules_dir=rules,
    )


def error_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if " ERROR " in line]


def stored(config: Path, *statuses: OutboxStatus) -> list[OutboxEntry]:
    with SQLiteStore(config.parent / "state" / "monitor.db") as store:
        return store.outbox(list(statuses), limit=1000)


# --- monitor once ---------------------------------------------------------------


@pytest.mark.e2e
def test_once_with_a_rejected_token_keeps_the_alerts_pending_and_exits_3(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    """`monitor once` with a token Slack rejects: one ERROR line saying what
    to fix, exit 3, nothing posted, and `monitor outbox` lists every alert
    pending (no attempt counted, none failed); the next `monitor once` with a
    good token posts each of them once."""
    now = datetime.now(UTC)
    feed_server.set("/news", rss([alpha(n, now - timedelta(minutes=5)) for n in range(3)]))
    config = desk(tmp_path, feed_server, slack_emulator)

    held = run_monitor("once", cwd=tmp_path, slack_token=WRONG_TOKEN)
    assert held.returncode == EXIT_DELIVERY_HELD, held.stderr
    (error,) = error_lines(held.stderr)
    assert (
        f"delivery held: Slack rejects SLACK_BOT_TOKEN (invalid_auth): {TOKEN_FIXES['invalid_auth']}"
        in error
    )
    assert "outbox: 3 alerts waiting for delivery, 0 failed" in held.stderr
    assert slack_emulator.calls_to("chat.postMessage") == []

    outbox = run_monitor("outbox", cwd=tmp_path)
    assert outbox.stdout.splitlines()[-1] == "3 pending, 0 sending, 0 sent, 0 failed, 0 silenced"
    assert [e.attempts for e in stored(config, "pending")] == [0, 0, 0]

    delivered = run_monitor("once", cwd=tmp_path, slack_token=slack_emulator.token)
    assert delivered.returncode == 0, delivered.stderr
    assert error_lines(delivered.stderr) == []
    texts = sorted(m.text for m in slack_emulator.messages)
    assert len(texts) == 3 and all(f"number {n}" in texts[n] for n in range(3)), texts
    outbox = run_monitor("outbox", cwd=tmp_path)
    assert outbox.stdout.splitlines()[-1] == "0 pending, 0 sending, 3 sent, 0 failed, 0 silenced"


@pytest.mark.e2e
def test_once_holds_when_slack_refuses_the_token_at_the_first_post(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    """Slack accepts the token at the start but answers the first post
    `token_revoked`: one ERROR line, exit 3, no further post tried, every
    alert pending with no attempt counted (the refused one shows why in
    `monitor outbox`); a later run posts them all once."""
    now = datetime.now(UTC)
    feed_server.set("/news", rss([alpha(n, now - timedelta(minutes=5)) for n in range(3)]))
    config = desk(tmp_path, feed_server, slack_emulator)
    slack_emulator.queue_faults("chat.postMessage", Fault.error("token_revoked"))

    held = run_monitor("once", cwd=tmp_path, slack_token=slack_emulator.token)
    assert held.returncode == EXIT_DELIVERY_HELD, held.stderr
    (error,) = error_lines(held.stderr)
    assert "delivery held: Slack rejects SLACK_BOT_TOKEN (token_revoked)" in error
    assert len(slack_emulator.calls_to("chat.postMessage")) == 1
    pending = stored(config, "pending")
    assert [e.attempts for e in pending] == [0, 0, 0]
    assert stored(config, "failed") == []
    outbox = run_monitor("outbox", cwd=tmp_path).stdout
    assert "(Slack rejects SLACK_BOT_TOKEN (token_revoked): " in outbox

    delivered = run_monitor("once", cwd=tmp_path, slack_token=slack_emulator.token)
    assert delivered.returncode == 0, delivered.stderr
    assert len(slack_emulator.messages) == 3


# --- monitor run ----------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("refusal", ["invalid_auth", "account_inactive"])
def test_run_with_a_token_slack_rejects_does_not_start(
    refusal: str, tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    """`monitor run` with a token Slack rejects exits 2 at once, saying what
    to fix, before polling anything."""
    feed_server.set("/news", rss([]))
    config = desk(tmp_path, feed_server, slack_emulator)
    if refusal == "invalid_auth":
        token = WRONG_TOKEN
    else:
        token = slack_emulator.token
        slack_emulator.reject_token(refusal)
    monitor = RunningMonitor(config, token=token)
    try:
        code = monitor.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        monitor.kill()
        raise AssertionError(f"monitor run kept running:\n{monitor.log}") from None
    monitor.kill()  # reads the log to its end
    assert code == 2, monitor.log
    assert (
        f"monitor: not starting: Slack rejects SLACK_BOT_TOKEN ({refusal}): {TOKEN_FIXES[refusal]}"
        in monitor.log
    )
    assert feed_server.hits("/news") == 0


@pytest.mark.e2e
def test_run_with_slack_out_of_reach_at_start_warns_and_runs(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    """Slack out of reach when `monitor run` starts is a WARNING, not a
    refusal: the monitor polls on, and delivery retries as it always has."""
    feed_server.set("/news", rss([]))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "watch.yaml").write_text(RULE, encoding="utf-8")
    api_url = slack_emulator.base_url
    slack_emulator.stop()  # its port now refuses connections
    config = write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"), interval="1s")],
        slack_api_url=api_url,
        rules_dir=rules,
    )
    monitor = RunningMonitor(config, token=TOKEN)
    try:
        monitor.wait_for_log("cannot check the Slack token (unreachable")
        wait_until(lambda: feed_server.hits("/news") >= 2, "polls after the warning")
    finally:
        log = monitor.stop(signal.SIGTERM)
    assert "going on, delivery retries as usual" in log
    assert error_lines(log) == []


@pytest.mark.e2e
def test_run_holds_delivery_when_the_token_is_revoked_mid_run(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    """The token is revoked while `monitor run` runs: one ERROR line, not one
    per alert; /healthz answers 503 with the reason and
    `monitor_slack_token_rejected` is 1; polling goes on and new alerts are
    queued; no alert is marked failed, all wait pending."""
    slack_emulator.token = TOKEN
    feed_server.set("/news", rss([]))
    config = desk(tmp_path, feed_server, slack_emulator)
    monitor = RunningMonitor(config, token=TOKEN)
    try:
        monitor.wait_for_log("serving /healthz and /metrics on http://")
        port = re.search(r"serving /healthz and /metrics on http://[\d.]+:(\d+)/", monitor.log)
        assert port is not None
        base = f"http://127.0.0.1:{port.group(1)}"
        wait_until(lambda: feed_server.hits("/news") >= 2, "the baseline poll")
        feed_server.set("/news", rss([alpha(0, datetime.now(UTC))]))
        slack_emulator.wait_for_messages(1, timeout=30)

        slack_emulator.reject_token("token_revoked")
        items = [alpha(n, datetime.now(UTC)) for n in range(4)]
        feed_server.set("/news", rss(items[:3]))
        monitor.wait_for_log("delivery held: Slack rejects SLACK_BOT_TOKEN (token_revoked)")
        feed_server.set("/news", rss(items))  # one more while held: queued all the same
        wait_until(lambda: len(stored(config, "pending")) == 3, "the fourth alert queued")
        answer = httpx.get(f"{base}/healthz")
        metrics = httpx.get(f"{base}/metrics").text
        polls = feed_server.hits("/news")
        wait_until(lambda: feed_server.hits("/news") >= polls + 3, "more polls while held")
    finally:
        log = monitor.stop(signal.SIGTERM)
    (error,) = error_lines(log)
    assert "every alert stays in the outbox, pending" in error
    assert answer.status_code == 503
    reason = answer.json()["reason"]
    assert "delivery held since " in reason and "(token_revoked)" in reason, reason
    assert "monitor_slack_token_rejected 1.0" in metrics
    assert stored(config, "failed") == []
    assert [e.attempts for e in stored(config, "pending")] == [0, 0, 0]
    assert len(slack_emulator.messages) == 1
    assert "stopped; outbox: 3 pending, 0 failed" in log


# --- resuming once Slack accepts the token again -------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def monitor(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Monitor]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    feed_server.set("/news", rss([]))
    config = desk(tmp_path, feed_server, slack_emulator)
    built = build_monitor(load_config(config), clock=clock, sleep=lambda _: None)
    yield built
    built.close()


def test_delivery_resumes_once_slack_accepts_the_token_again(
    monitor: Monitor,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """While Slack rejects the token, the monitor asks again every few
    minutes, says nothing more while the answer is the same, and once Slack
    accepts it, logs that delivery resumes and posts every held alert once."""
    caplog.set_level(logging.INFO, logger="monitor")
    monitor.poll_all()  # the baseline
    feed_server.set("/news", rss([alpha(n, clock.now - timedelta(minutes=1)) for n in range(3)]))
    slack_emulator.reject_token("token_revoked")
    monitor.poll_all()

    report = monitor.deliver_due()
    assert (report.held, report.sent, report.failed) == (True, 0, 0)
    healthy, body = monitor.health()
    assert not healthy and "(token_revoked)" in str(body["reason"])
    clock.advance(seconds=TOKEN_RECHECK_EVERY.total_seconds() - 1)
    assert monitor.deliver_due().held
    assert slack_emulator.calls_to("auth.test") == []
    clock.advance(seconds=1)
    assert monitor.deliver_due().held, "still rejected: still held"
    assert len(slack_emulator.calls_to("auth.test")) == 1
    assert len(slack_emulator.calls_to("chat.postMessage")) == 1, "no post tried while held"

    slack_emulator.accept_token()
    clock.advance(seconds=TOKEN_RECHECK_EVERY.total_seconds())
    report = monitor.deliver_due()
    assert (report.held, report.sent) == (False, 3)
    assert len(slack_emulator.messages) == 3
    assert monitor.token_hold is None and "delivery held" not in str(monitor.health()[1]["reason"])
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "delivery held" in errors[0].getMessage()
    resumed = [r for r in caplog.records if "delivery resumes" in r.getMessage()]
    assert [r.getMessage() for r in resumed] == ["delivery resumes: Slack accepts the token again"]


# --- the pieces -----------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(TOKEN_SLACK_ERRORS))
def test_every_refusal_of_the_token_itself_is_a_token_rejection(
    code: str, slack_emulator: SlackEmulator
) -> None:
    """Each error that says the token itself is bad reaches delivery as a
    TokenRejectedError naming the code and its fix, through real slack-sdk."""
    from slack_sdk import WebClient

    client = WebClient(
        token=slack_emulator.token, base_url=slack_emulator.base_url, retry_handlers=[]
    )
    sink = SlackSink(client, min_interval=0)
    slack_emulator.queue_faults("chat.postMessage", Fault.error(code))
    with pytest.raises(TokenRejectedError) as raised:
        sink.post("#watch-desk", Notice("x"))
    assert raised.value.code == code
    assert str(raised.value) == f"Slack rejects SLACK_BOT_TOKEN ({code}): {TOKEN_FIXES[code]}"

    slack_emulator.queue_faults("chat.postMessage", Fault.error("channel_not_found"))
    with pytest.raises(PermanentDeliveryError) as channel:
        sink.post("#watch-desk", Notice("x"))
    assert not isinstance(channel.value, TokenRejectedError), "a channel error fails one alert"


def test_what_an_answer_to_auth_test_means_for_delivery() -> None:
    identity = Identity(team="t", user="bot", scopes=None)
    assert token_verdict(identity) is identity
    assert token_verdict(Refusal("token_revoked")) == TokenRejected("token_revoked")
    assert token_verdict(Refusal("unreachable", detail="refused")) == TokenUnverified(
        "unreachable (refused)"
    )
    assert token_verdict(Refusal("ratelimited")) == TokenUnverified("ratelimited")
    assert token_verdict(Refusal("HTTP 503", detail="not an answer from Slack")) == (
        TokenUnverified("HTTP 503 (not an answer from Slack)")
    )


def test_a_rejected_token_is_asked_about_again_every_few_minutes() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    hold = TokenHold("r", since=start, checked_at=start)
    assert not token_recheck_due(hold, start + TOKEN_RECHECK_EVERY - timedelta(seconds=1))
    assert token_recheck_due(hold, start + TOKEN_RECHECK_EVERY)
