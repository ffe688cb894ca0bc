"""`monitor slack-test`: can alerts reach every channel the config can post
to, and does the token hold the scopes the monitor needs? And the token
check `monitor run` and `monitor once` make at start, and while delivery
is held because Slack rejects the token (see :mod:`.token_hold`).

Which channels to test and for what, which scopes are missing, what fixes
an error and what an answer to auth.test means for delivery are decided by
pure functions; :class:`SlackProbe` is the edge that talks to Slack and
turns slack-sdk's answers and errors into results. The config comes in
through the narrow protocols below; the environment (which token, which
webhook) is read by :mod:`monitor.wiring`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

from monitor.delivery.message import Notice
from monitor.delivery.ports import RoutingSettings
from monitor.delivery.sinks.base import Sink
from monitor.delivery.sinks.slack import TOKEN_FIXES, TOKEN_SLACK_ERRORS, token_rejection
from monitor.errors import DeliveryError

POST_SCOPE = "chat:write"
PUBLIC_HISTORY_SCOPE = "channels:history"
PRIVATE_HISTORY_SCOPE = "groups:history"
HISTORY_SCOPES = frozenset({PUBLIC_HISTORY_SCOPE, PRIVATE_HISTORY_SCOPE})

SCOPE_USES = {
    POST_SCOPE: "posting alerts",
    PUBLIC_HISTORY_SCOPE: (
        "reading a public channel's history: after a timeout the monitor looks there for "
        "the alert Slack may already have taken, instead of posting it a second time"
    ),
    PRIVATE_HISTORY_SCOPE: (
        "reading a private channel's history: after a timeout the monitor looks there for "
        "the alert Slack may already have taken, instead of posting it a second time"
    ),
}

CHANNEL_FIXES = {
    "not_in_channel": "invite the bot to {channel} (/invite @{bot} in that channel)",
    "channel_not_found": (
        "check the channel's name in config.toml; a private channel must invite the bot first"
    ),
    "is_archived": "unarchive {channel} or send its alerts elsewhere in config.toml",
    **TOKEN_FIXES,
    "restricted_action": "the workspace does not let the bot post in {channel}",
    "ratelimited": "Slack asks to slow down: run monitor slack-test again in a minute",
}


def scope_fix(scope: str) -> str:
    """What to do in the Slack app to grant ``scope``."""
    return (
        f"add {scope} under OAuth & Permissions > Bot Token Scopes of the Slack app, "
        "reinstall the app to the workspace, and set the new token as SLACK_BOT_TOKEN"
    )


class OpsSwitch(Protocol):
    """config.ops, as far as slack-test reads it."""

    @property
    def enabled(self) -> bool:
        """Whether ops alerts are posted."""
        ...


class PostingConfig(Protocol):
    """The config, as far as slack-test reads it: every channel it can post to."""

    @property
    def slack(self) -> RoutingSettings:
        """Default channel and routes."""
        ...

    @property
    def ops(self) -> OpsSwitch:
        """Whether ops alerts go out."""
        ...

    def ops_channel(self) -> str:
        """Where ops alerts go."""
        ...


@dataclass(frozen=True)
class ChannelUse:
    """A channel the config can post to, and what for."""

    channel: str
    uses: tuple[str, ...]


def channels_to_test(config: PostingConfig) -> list[ChannelUse]:
    """Every channel an alert, a digest or an ops notice can go to, once each,
    in config order."""
    slack = config.slack
    uses: dict[str, list[str]] = {slack.channel: ["default channel"]}
    for number, route in enumerate(slack.routes):
        what = f"slack.routes[{number}]"
        if route.digest:
            what += f" digest {route.digest}"
        for channel in route.channels or (slack.channel,):
            uses.setdefault(channel, []).append(what)
    if config.ops.enabled:
        uses.setdefault(config.ops_channel(), []).append("ops alerts")
    return [ChannelUse(channel, tuple(what)) for channel, what in uses.items()]


@dataclass(frozen=True)
class Refusal:
    """A call that did not succeed: Slack's error code (or what went wrong
    on the way), and the scope Slack named as missing, if it did."""

    error: str
    needed: str | None = None
    detail: str = ""


def explain(refusal: Refusal, channel: str, bot: str) -> str:
    """The refusal as the person fixing it reads it."""
    if refusal.error == "missing_scope":
        needed = refusal.needed or "a scope"
        return f"missing_scope: the token lacks {needed} (fix below)"
    fix = CHANNEL_FIXES.get(refusal.error)
    text = refusal.error + (f" ({refusal.detail})" if refusal.detail else "")
    return f"{text}: {fix.format(channel=channel, bot=bot)}" if fix else text


def missing_scopes(
    granted: frozenset[str] | None, *, named: Mapping[str, None], history_read: bool
) -> list[str]:
    """Scopes to add: those Slack named in refusals (``named``), and those
    the token's scope list lacks (when Slack sent it). A history scope is
    taken from the list only when no channel's history was read: which of
    the two a channel needs depends on whether it is private, and reading
    it tells."""
    missing = dict(named)
    if granted is not None:
        if POST_SCOPE not in granted:
            missing[POST_SCOPE] = None
        if not history_read and not granted & HISTORY_SCOPES and not HISTORY_SCOPES & set(named):
            missing[PUBLIC_HISTORY_SCOPE] = None
    return list(missing)


@dataclass(frozen=True)
class Identity:
    """Who the token is, as auth.test answers: workspace, bot, scopes."""

    team: str
    user: str
    scopes: frozenset[str] | None
    """From Slack's x-oauth-scopes header; None when the answer had none."""


@dataclass(frozen=True)
class Post:
    """A test message Slack took: its ts and the channel's id."""

    ts: str
    channel_id: str


class SlackProbe:
    """The calls slack-test makes, each answering a result or a Refusal."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def identify(self) -> Identity | Refusal:
        """auth.test: who the token is, with its scopes when Slack says."""
        response = self._call(self._client.auth_test)
        if isinstance(response, Refusal):
            return response
        scopes = _header(response.headers, "x-oauth-scopes")
        return Identity(
            team=str(response.get("team") or "?"),
            user=str(response.get("user") or response.get("user_id") or "?"),
            scopes=frozenset(s.strip() for s in scopes.split(",") if s.strip())
            if scopes is not None
            else None,
        )

    def post(self, channel: str, text: str) -> Post | Refusal:
        """A plain test message to ``channel``."""
        response = self._call(lambda: self._client.chat_postMessage(channel=channel, text=text))
        if isinstance(response, Refusal):
            return response
        return Post(str(response.get("ts")), str(response.get("channel") or channel))

    def history_has(self, channel_id: str, ts: str) -> bool | Refusal:
        """Whether the channel's history, as the duplicate check reads it,
        shows the message ``ts``."""
        response = self._call(
            lambda: self._client.conversations_history(
                channel=channel_id, latest=ts, inclusive=True, limit=1, include_all_metadata=True
            )
        )
        if isinstance(response, Refusal):
            return response
        return any(str(m.get("ts")) == ts for m in response.get("messages") or [])

    @staticmethod
    def _call(call: Callable[[], SlackResponse]) -> SlackResponse | Refusal:
        try:
            return call()
        except SlackApiError as exc:
            data: Any = exc.response.data
            if isinstance(data, dict) and data.get("error"):
                needed = data.get("needed")
                return Refusal(str(data["error"]), str(needed) if needed else None)
            return Refusal(f"HTTP {exc.response.status_code}", detail="not an answer from Slack")
        except SlackClientError as exc:
            return Refusal("refused", detail=str(exc))
        except (URLError, OSError, HTTPException, ValueError) as exc:
            return Refusal("unreachable", detail=str(getattr(exc, "reason", None) or exc))


def _header(headers: object, name: str) -> str | None:
    items = getattr(headers, "items", None)
    if not callable(items):
        return None
    for key, value in items():
        if str(key).lower() == name:
            return ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return None


def _test_text(use: ChannelUse) -> str:
    return (
        f"Watch-desk monitor test message for {use.channel} ({'; '.join(use.uses)}): "
        "delivery works."
    )


def token_test(config: PostingConfig, probe: SlackProbe, say: Callable[[str], None]) -> bool:
    """Post a test message to every channel and read it back from the
    channel's history, as the duplicate check would; then name every scope
    to add, with its fix. True when everything works."""
    identity = probe.identify()
    if isinstance(identity, Refusal):
        say(f"FAIL token: {explain(identity, '', 'the bot')}")
        return False
    say(f"Slack workspace {identity.team}, bot {identity.user}")
    if identity.scopes is not None:
        say(f"token scopes: {', '.join(sorted(identity.scopes)) or 'none'}")
    named: dict[str, None] = {}
    failures = 0
    history_read = False
    uses = channels_to_test(config)
    for use in uses:
        where = f"{use.channel} ({'; '.join(use.uses)})"
        posted = probe.post(use.channel, _test_text(use))
        if isinstance(posted, Refusal):
            failures += 1
            if posted.needed:
                named[posted.needed] = None
            say(f"FAIL {where}: cannot post: {explain(posted, use.channel, identity.user)}")
            continue
        found = probe.history_has(posted.channel_id, posted.ts)
        if isinstance(found, Refusal):
            failures += 1
            if found.needed:
                named[found.needed] = None
            say(
                f"FAIL {where}: test message posted, but the channel's history cannot be read: "
                f"{explain(found, use.channel, identity.user)}"
            )
        elif not found:
            failures += 1
            say(f"FAIL {where}: test message posted, but not found in the channel's history")
        else:
            history_read = True
            say(f"ok   {where}: test message posted and found in the channel's history")
    missing = missing_scopes(identity.scopes, named=named, history_read=history_read)
    for scope in missing:
        purpose = SCOPE_USES.get(scope, "a call the monitor makes")
        say(f"MISSING SCOPE {scope}: needed for {purpose}. Fix: {scope_fix(scope)}")
    say(
        f"slack-test: {len(uses)} channels, {failures} failed, "
        f"{len(missing)} scope{'s' if len(missing) != 1 else ''} missing"
    )
    return failures == 0 and not missing


def webhook_test(config: PostingConfig, sink: Sink, say: Callable[[str], None]) -> bool:
    """Post the one test message a webhook can: every alert lands in the
    webhook's own channel, whatever the config names."""
    channels = ", ".join(use.channel for use in channels_to_test(config))
    text = "Watch-desk monitor test message: delivery through the incoming webhook works."
    try:
        sink.post("webhook", Notice(text))
    except DeliveryError as exc:
        say(f"FAIL incoming webhook: {exc}")
        return False
    say("ok   incoming webhook: test message posted to the webhook's own channel")
    say(
        f"note: every alert goes to that one channel; the channels in the config ({channels}) "
        "are not used, and there are no threads, edits or duplicate check"
    )
    return True


# --- the token check of run and once ---------------------------------------------


@dataclass(frozen=True)
class TokenRejected:
    """Slack refuses the token itself: nothing can be posted until it is fixed."""

    code: str

    def __str__(self) -> str:
        return token_rejection(self.code)


@dataclass(frozen=True)
class TokenUnverified:
    """Slack could not say (unreachable, down, rate limited): delivery tells later."""

    detail: str


TokenVerdict = Identity | TokenRejected | TokenUnverified


def token_verdict(answer: Identity | Refusal) -> TokenVerdict:
    """What Slack's answer to auth.test means for delivery."""
    if isinstance(answer, Identity):
        return answer
    if answer.error in TOKEN_SLACK_ERRORS:
        return TokenRejected(answer.error)
    return TokenUnverified(answer.error + (f" ({answer.detail})" if answer.detail else ""))
