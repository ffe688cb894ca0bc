"""The buttons on an alert's post, clicked in the Slack emulator: a real
monitor polling loopback feeds, its real health server on loopback serving
/slack/actions, and Slack's signed block_actions requests.

What the desk sees: each top-level alert offers Acknowledge, Mute this
story, False alarm and Not relevant; a click changes what the post says
(who, when) and which buttons remain; a mute keeps the story's later
sources out of its thread; a false alarm comes back out of `monitor
feedback --as-cases` as a rule test case. A request with a bad, missing or
stale signature, or for an action or alert the monitor does not know, is
refused with its status and logged, and changes nothing.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import yaml

from monitor.app import Monitor
from monitor.cli import main
from monitor.commands.feedback import RuleFiles, rule_cases
from monitor.delivery.message import AlertPost, Mark
from monitor.delivery.render import render
from monitor.domain.alert import Alert
from monitor.domain.kinds import FEEDBACK_KINDS, FeedbackKind
from monitor.domain.severity import Severity
from monitor.domain.story import Feedback
from monitor.interactivity.actions import Action, Refusal, check_signature, parse_action
from monitor.interactivity.marks import marks_of, offered_buttons
from monitor.rules.model import CaseSpec
from monitor.server import MAX_ACTION_BYTES, HealthServer, Metrics
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.monitors import MonitorMaker
from tests.support.setup import FakeClock, FeedSpec
from tests.support.slack_emulator import DESK_MEMBER, PostedMessage, SlackEmulator, SlackUser
from tests.support.slack_interactivity import buttons_of, send_interaction, signature

SECRET = "test-signing-secret-0f3c9a"  # invented for these tests
CHANNEL = "#watch-desk"
ALL_BUTTONS = {"monitor.ack", "monitor.mute", "monitor.false_alarm", "monitor.not_relevant"}
OUTLETS = ("outlet-a", "outlet-b")
# Two wordings of one invented Entity List action.
WORDINGS = [
    (
        "US adds 42 Chinese companies to Entity List over support for Russia's military",
        "The Commerce Department placed 42 China-based firms on its Entity List on Tuesday "
        "for supplying Russia's armed forces with American chips.",
    ),
    (
        "Commerce blacklists 42 China-based firms for aiding Russian army",
        "Washington put 42 Chinese entities on the Entity List, accusing them of shipping "
        "US-made microelectronics to Russia's military.",
    ),
]


@dataclass
class Desk:
    """A monitor with its endpoint, its feeds and the emulated Slack."""

    monitor: Monitor
    url: str
    feeds: FeedServer
    slack: SlackEmulator
    clock: FakeClock

    def tell(self, outlet: str, wording: int) -> None:
        """``outlet`` publishes a wording of the event; the monitor polls and delivers."""
        title, summary = WORDINGS[wording]
        link = f"https://{outlet}.example/story-{wording}"
        entry = Entry(title, link=link, guid=link, summary=summary, published=self.clock.now)
        self.feeds.set(f"/{outlet}", rss([entry]))
        self.clock.advance(minutes=2)
        self.monitor.poll_all()
        self.monitor.deliver_due()

    def parent(self) -> PostedMessage:
        (top,) = self.slack.top_level(CHANNEL)
        return self.slack.message(CHANNEL, top.ts)

    def click(self, action_id: str, user: SlackUser = DESK_MEMBER) -> int:
        return self.slack.click(
            self.parent(), action_id, url=self.url, secret=SECRET, user=user, at=self.clock.now
        ).status


def outlet_feeds(feed_server: FeedServer) -> list[FeedSpec]:
    return [FeedSpec(name, feed_server.url(f"/{name}")) for name in OUTLETS]


@pytest.fixture
def desk(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Desk]:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    for name in OUTLETS:
        feed_server.set(f"/{name}", rss([]))
    monitor = make_monitor(outlet_feeds(feed_server))
    assert monitor.slack_actions is not None
    server = HealthServer(
        monitor.metrics, monitor.health, port=0, slack_actions=monitor.slack_actions.answer
    ).start()
    monitor.poll_all()  # baselines the empty feeds
    try:
        yield Desk(
            monitor,
            f"http://127.0.0.1:{server.port}/slack/actions",
            feed_server,
            slack_emulator,
            clock,
        )
    finally:
        server.stop()


def alert_id(desk: Desk) -> int:
    (entry,) = [e for e in desk.monitor.store.outbox(["sent"]) if e.alert.feed == "outlet-a"]
    return entry.id


def live_date(desk: Desk) -> str:
    return f"<!date^{int(desk.clock.now.timestamp())}^"


def test_a_top_level_alert_carries_the_four_buttons_and_a_thread_reply_none(desk: Desk) -> None:
    desk.tell("outlet-a", 0)
    buttons = buttons_of(desk.parent().blocks)
    assert set(buttons) == ALL_BUTTONS
    assert {b["value"] for b in buttons.values()} == {str(alert_id(desk))}

    desk.tell("outlet-b", 1)
    (reply,) = desk.slack.replies_to(desk.parent().ts)
    assert buttons_of(reply.blocks) == {}, "a thread reply has no buttons"
    assert set(buttons_of(desk.parent().blocks)) == ALL_BUTTONS, "kept when the sources are counted"


def test_without_a_signing_secret_there_are_no_buttons(
    make_monitor: MonitorMaker, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    for name in OUTLETS:
        feed_server.set(f"/{name}", rss([]))
    monitor = make_monitor(outlet_feeds(feed_server))
    assert monitor.slack_actions is None
    monitor.poll_all()
    title, summary = WORDINGS[0]
    feed_server.set("/outlet-a", rss([Entry(title, link="https://a.example/1", summary=summary)]))
    monitor.poll_all()
    monitor.deliver_due()
    (posted,) = slack_emulator.top_level(CHANNEL)
    assert buttons_of(posted.blocks) == {}


def test_acknowledge_shows_who_and_when_and_survives_a_new_source(desk: Desk) -> None:
    desk.tell("outlet-a", 0)
    assert desk.click("monitor.ack") == 200
    desk.slack.wait_for_updates(1)
    shown = json.dumps(desk.parent().blocks)
    assert f"Acknowledged by <@{DESK_MEMBER.id}> {live_date(desk)}" in shown
    assert set(buttons_of(desk.parent().blocks)) == ALL_BUTTONS - {"monitor.ack"}
    (said,) = desk.monitor.store.feedback(FEEDBACK_KINDS)
    assert (said.kind, said.user_id, said.user_name) == ("acknowledged", DESK_MEMBER.id, "jane.doe")

    desk.tell("outlet-b", 1)  # the parent is edited to count two sources
    shown = json.dumps(desk.parent().blocks)
    assert "2 sources" in shown
    assert f"Acknowledged by <@{DESK_MEMBER.id}>" in shown, "a later edit keeps the mark"
    assert "monitor.ack" not in buttons_of(desk.parent().blocks)


def test_a_second_member_acknowledging_is_named_too(desk: Desk) -> None:
    desk.tell("outlet-a", 0)
    assert desk.click("monitor.ack") == 200
    desk.slack.wait_for_updates(1)
    other = SlackUser("U0DESK0002", "sam.roe")
    late = desk.slack.interaction(desk.parent(), "monitor.mute", other)
    late["actions"][0]["action_id"] = "monitor.ack"  # from a view that still showed the button
    answer = send_interaction(desk.url, late, secret=SECRET, at=desk.clock.now)
    assert answer.status == 200
    desk.slack.wait_for_updates(2)
    shown = json.dumps(desk.parent().blocks)
    assert f"<@{DESK_MEMBER.id}>" in shown and "<@U0DESK0002>" in shown


def test_mute_keeps_the_storys_later_sources_out_of_its_thread(desk: Desk) -> None:
    desk.tell("outlet-a", 0)
    assert desk.click("monitor.mute") == 200
    desk.slack.wait_for_updates(1)
    assert f"Story muted by <@{DESK_MEMBER.id}> {live_date(desk)}" in json.dumps(
        desk.parent().blocks
    )
    assert "monitor.mute" not in buttons_of(desk.parent().blocks)
    (silence,) = desk.monitor.store.active_silences(desk.clock.now)
    assert silence.scope.story_key is not None
    assert (silence.author, silence.reason) == ("jane.doe", "muted from Slack")
    assert silence.until == desk.clock.now + timedelta(days=7)

    desk.tell("outlet-b", 1)
    assert desk.slack.replies_to(desk.parent().ts) == [], "no more thread noise"
    (quiet,) = desk.monitor.store.outbox(["silenced"])
    assert quiet.alert.feed == "outlet-b"


def test_a_false_alarm_is_recorded_and_comes_back_as_a_rule_test_case(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.tell("outlet-a", 0)
    assert desk.click("monitor.false_alarm") == 200
    desk.slack.wait_for_updates(1)
    assert f"Marked a false alarm by <@{DESK_MEMBER.id}>" in json.dumps(desk.parent().blocks)
    assert set(buttons_of(desk.parent().blocks)) == {"monitor.ack", "monitor.mute"}
    (said,) = desk.monitor.store.feedback(["false-alarm"])
    assert (said.alert.rule_id, said.user_name) == ("sanctions-chinese-firms", "jane.doe")

    config = str(desk.monitor.snapshot.loaded.path)
    capsys.readouterr()
    assert main(["feedback", "--config", config, "--kind", "false-alarm", "--json"]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["rule_id"] == "sanctions-chinese-firms"
    assert record["link"] == "https://outlet-a.example/story-0"

    assert main(["feedback", "--config", config, "--as-cases"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("# sanctions-chinese-firms (")
    (case,) = yaml.safe_load("\n".join(printed.splitlines()[1:]))
    assert CaseSpec.model_validate(case).expect == "none"
    assert case["title"] == WORDINGS[0][0]
    assert "jane.doe (U0DESK0001)" in case["note"] and case["note"].startswith("false alarm")


def test_not_relevant_is_said_and_takes_both_verdicts_away(desk: Desk) -> None:
    desk.tell("outlet-a", 0)
    assert desk.click("monitor.not_relevant") == 200
    desk.slack.wait_for_updates(1)
    assert "Marked not relevant to this desk by" in json.dumps(desk.parent().blocks)
    assert set(buttons_of(desk.parent().blocks)) == {"monitor.ack", "monitor.mute"}


@pytest.mark.parametrize(
    ("send", "status", "logged"),
    [
        ("bad signature", 401, "bad signature"),
        ("no signature", 401, "no X-Slack-Signature"),
        ("stale timestamp", 401, "stale request timestamp"),
        ("unknown action", 400, "unknown action 'monitor.escalate'"),
        ("unknown alert", 400, "unknown alert 999999"),
    ],
)
def test_a_refused_request_changes_nothing(
    desk: Desk, caplog: pytest.LogCaptureFixture, send: str, status: int, logged: str
) -> None:
    desk.tell("outlet-a", 0)
    before = desk.parent()
    caplog.set_level(logging.INFO, logger="monitor")
    slack = desk.slack
    if send == "bad signature":
        answer = slack.click_with_bad_signature(
            before, "monitor.ack", url=desk.url, at=desk.clock.now
        )
    elif send == "no signature":
        answer = slack.click_unsigned(before, "monitor.ack", url=desk.url)
    elif send == "stale timestamp":
        stale = desk.clock.now - timedelta(minutes=6)
        answer = slack.click(before, "monitor.ack", url=desk.url, secret=SECRET, at=stale)
    elif send == "unknown action":
        answer = slack.click_unknown_action(before, url=desk.url, secret=SECRET, at=desk.clock.now)
    else:
        payload = slack.interaction(before, "monitor.false_alarm", DESK_MEMBER)
        payload["actions"][0]["value"] = "999999"
        answer = send_interaction(desk.url, payload, secret=SECRET, at=desk.clock.now)

    assert answer.status == status
    refusals = [r.getMessage() for r in caplog.records if "refused a Slack action" in r.message]
    assert len(refusals) == 1 and logged in refusals[0]
    assert SECRET not in caplog.text
    assert desk.monitor.store.feedback(FEEDBACK_KINDS) == []
    assert desk.monitor.store.active_silences(desk.clock.now) == []
    assert slack.updates == [] and slack.calls_to("chat.update") == []
    assert desk.parent() == before


def test_other_requests_to_the_endpoint(desk: Desk) -> None:
    desk.tell("outlet-a", 0)
    payload = desk.slack.interaction(desk.parent(), "monitor.ack", DESK_MEMBER)
    payload["type"] = "view_submission"
    answer = send_interaction(desk.url, payload, secret=SECRET, at=desk.clock.now)
    assert answer.status == 400 and "view_submission" in answer.body
    assert desk.monitor.store.feedback(FEEDBACK_KINDS) == []


# --- the pure parts ------------------------------------------------------------------

NOW = FakeClock().now


def _form(payload: object) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


CLICK = {
    "type": "block_actions",
    "user": {"id": "U0DESK0001", "username": "jane.doe"},
    "container": {"type": "message", "message_ts": "1764590400.000100", "channel_id": "C0DESK"},
    "actions": [{"action_id": "monitor.ack", "value": "17", "type": "button"}],
}


def test_a_click_is_read_into_its_action() -> None:
    assert parse_action(_form(CLICK)) == Action(
        "acknowledged", 17, "U0DESK0001", "jane.doe", "C0DESK", "1764590400.000100"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"payload=%7B", "not JSON"),
        (b"nothing=1", "no single payload"),
        (_form([]), "not a JSON object"),
        (_form({**CLICK, "actions": []}), "exactly one action"),
        (
            _form({**CLICK, "actions": [{"action_id": "monitor.ack", "value": "x"}]}),
            "names no alert",
        ),
        (_form({**CLICK, "user": {"id": "<!channel>"}}), "no Slack user"),
        (_form({**CLICK, "container": {}}), "from no message"),
    ],
)
def test_a_malformed_click_is_refused_with_a_400(body: bytes, reason: str) -> None:
    refused = parse_action(body)
    assert isinstance(refused, Refusal) and refused.status == 400 and reason in refused.reason


def test_the_signature_is_checked_against_the_secret_and_the_time() -> None:
    body = _form(CLICK)
    stamp = str(int(NOW.timestamp()))
    good = signature(SECRET, stamp, body)
    assert check_signature(SECRET, body, timestamp=stamp, signature=good, now=NOW) is None
    late = NOW + timedelta(minutes=5, seconds=1)
    for timestamp, signed, now in [
        (stamp, good, late),
        (stamp, signature("another secret", stamp, body), NOW),
        (stamp, good.replace("v0=", "v1="), NOW),
        ("soon", good, NOW),
        (None, good, NOW),
    ]:
        refused = check_signature(SECRET, body, timestamp=timestamp, signature=signed, now=now)
        assert refused is not None and refused.status == 401


def test_a_mark_renders_who_and_when_and_the_buttons_left() -> None:
    post = AlertPost(
        alert_id=5,
        severity=Severity.WARNING,
        rule_id="r",
        rule_title="Rule",
        feed="f",
        title="t",
        link=None,
        summary="",
        matched_terms=(),
        published=None,
        age="",
        buttons=("muted",),
        marks=(Mark("acknowledged", "not-an-id", "A <b>", NOW),),
    )
    blocks = render(post).blocks
    assert blocks[-1]["type"] == "actions"
    assert [e["action_id"] for e in blocks[-1]["elements"]] == ["monitor.mute"]
    assert "confirm" in blocks[-1]["elements"][0]
    marks = blocks[-2]["elements"][0]["text"]
    assert "Acknowledged by A &lt;b&gt; <!date^" in marks, "no mention for a name that is no id"


def _alert(
    title: str, *, rule_id: str = "r", story: str | None = "s1", identity: str = "i"
) -> Alert:
    return Alert(
        rule_id=rule_id,
        rule_title="Rule",
        severity=Severity.WARNING,
        feed="wire",
        item_identity=identity,
        item_guid=None,
        title=title,
        link="https://wire.example/1",
        summary="A summary.",
        published=None,
        matched_terms=(),
        created_at=NOW,
        story=story,
    )


def _said(n: int, kind: FeedbackKind, alert: Alert, user: str = "U0DESK0001") -> Feedback:
    return Feedback(n, kind, alert, n, user, user.lower(), NOW + timedelta(minutes=n))


def test_the_buttons_left_after_what_was_said() -> None:
    alert = _alert("t")
    assert offered_buttons(alert, ()) == ("acknowledged", "muted", "false-alarm", "not-relevant")
    said = marks_of([_said(1, "not-relevant", alert)])
    assert offered_buttons(alert, said) == ("acknowledged", "muted")
    assert offered_buttons(_alert("t", story=None), ()) == (
        "acknowledged",
        "false-alarm",
        "not-relevant",
    ), "no mute without a story"
    assert offered_buttons(_alert("t", rule_id="ops.feed-failing"), ()) == ()
    twice = marks_of([_said(1, "acknowledged", alert), _said(2, "acknowledged", alert)])
    assert len(twice) == 1, "one line per member and kind"


def test_cases_are_one_per_item_under_their_rules_file() -> None:
    first, other = _alert("Alpha"), _alert("Beta: quoted", rule_id="q")
    listing = _alert("Listed", identity="listing:ofac:1")
    text, skipped = rule_cases(
        [
            _said(1, "false-alarm", first),
            _said(2, "not-relevant", first, "U0DESK0002"),
            _said(3, "acknowledged", other),
            _said(4, "false-alarm", other),
            _said(5, "false-alarm", listing),
        ],
        rules=RuleFiles({"r": "rules/r.yaml"}, {"r": frozenset({"news"})}),
        feed_tags={"wire": ("wires",)},
    )
    sections = text.split("\n\n")
    assert sections[0].startswith("# r (rules/r.yaml): add under tests:")
    assert sections[1].startswith("# q (not among the rules now)")
    (case,) = yaml.safe_load("\n".join(sections[0].splitlines()[1:]))
    assert case["tags"] == ["wires"] and case["expect"] == "none"
    assert case["note"].startswith("false alarm: marked by u0desk0001 (U0DESK0001) on ")
    assert "; not relevant to this desk: marked by u0desk0002 (U0DESK0002) on " in case["note"]
    assert case["note"].endswith("; feed wire, https://wire.example/1")
    (quoted,) = yaml.safe_load("\n".join(sections[1].splitlines()[1:]))
    assert quoted["title"] == "Beta: quoted"
    assert len(skipped) == 1 and "official list" in skipped[0]


def test_the_server_routes_only_signed_sized_posts_to_the_handler() -> None:
    seen: list[bytes] = []

    def endpoint(
        body: bytes, *, timestamp: str | None, signature: str | None, peer: str
    ) -> tuple[int, bytes]:
        seen.append(body)
        return 200, b""

    def ask(server: HealthServer, path: str, body: bytes, length: str | None) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.putrequest("POST", path)
        if length is not None:
            connection.putheader("Content-Length", length)
        connection.endheaders(body)
        status = connection.getresponse().status
        connection.close()
        return status

    metrics = Metrics()
    bare = HealthServer(metrics, lambda: (True, {}), port=0).start()
    served = HealthServer(metrics, lambda: (True, {}), port=0, slack_actions=endpoint).start()
    try:
        assert ask(bare, "/slack/actions", b"x", "1") == 404, "no endpoint without a secret"
        assert ask(served, "/metrics", b"x", "1") == 404
        assert ask(served, "/slack/actions", b"", None) == 411
        assert ask(served, "/slack/actions", b"", str(MAX_ACTION_BYTES + 1)) == 413
        assert seen == []
        assert ask(served, "/slack/actions", b"payload=1", "9") == 200
        assert seen == [b"payload=1"]
    finally:
        bare.stop()
        served.stop()
