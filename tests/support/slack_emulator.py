"""A minimal Slack Web API over real loopback HTTP, for the real ``slack_sdk.WebClient``.

Why emulate Slack at the HTTP level instead of mocking ``WebClient``: the alerting code's
failure handling (rate limits, 5xx, timeouts after Slack already accepted a post, invalid
tokens) depends on exactly which exceptions and response objects slack-sdk produces. Only by
letting the real client speak real HTTP do tests see those as production will.

Point a client at it with ``WebClient(token=emulator.token, base_url=emulator.base_url)``.

Interactivity: :meth:`SlackEmulator.click` clicks a button of a posted
message as a person in Slack would: Slack's ``block_actions`` request for
that message and button, signed with the app's signing secret and posted
to the app's Request URL (see tests.support.slack_interactivity); other
helpers send the same click with a bad signature, none, or an action the
message has no button for.

Request encoding, as used by slack-sdk 3.x (all requests are POSTs to ``/api/<method>``):
``chat.postMessage`` and ``chat.update`` send JSON bodies; ``auth.test``,
``conversations.history``, ``conversations.replies`` and ``chat.getPermalink`` send
``application/x-www-form-urlencoded`` bodies, even though slack-sdk names GET for some of
them. Both encodings are accepted for every method, and JSON-valued form fields such as
``blocks`` are decoded.

Order of checks for each call: unknown method (HTTP 404), authentication (a
wrong token answers ``invalid_auth``, none ``not_authed``, and the right one,
after :meth:`SlackEmulator.reject_token`, the refusal given there), the token's
scopes (``missing_scope`` with ``needed`` and ``provided``, see
:attr:`SlackEmulator.scopes`), the next queued fault for that method, a failed channel (see
:meth:`SlackEmulator.fail_channel`), then the method's own validation. Every call is
recorded in :attr:`SlackEmulator.calls` regardless. Like Slack, a successful answer or a
missing scope carries the token's scopes in the ``x-oauth-scopes`` response header.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, urlsplit

from tests.support.feed_server import LoopbackHandler, LoopbackServer
from tests.support.slack_interactivity import (
    DESK_MEMBER,
    ActionAnswer,
    SlackUser,
    block_actions,
    buttons_of,
    send_interaction,
)

__all__ = [
    "DESK_MEMBER",
    "ActionAnswer",
    "Fault",
    "PostedMessage",
    "SlackEmulator",
    "SlackUser",
    "UpdateRecord",
]

BOT_USER_ID = "U0WATCHBOT"
BOT_ID = "B0WATCHBOT"
TEAM_ID = "T0WATCHDESK"
TEAM_NAME = "Watch Desk (emulated)"
BOT_SCOPES = frozenset({"chat:write", "channels:history", "groups:history"})
"""What the monitor's bot token holds by default: posting, and reading history."""

_JSON_FORM_FIELDS = ("blocks", "attachments", "metadata")


JsonDict = dict[str, Any]


@dataclass(frozen=True)
class PostedMessage:
    """A message Slack accepted. Frozen; ``payload`` is the decoded request as received."""

    channel: str
    text: str
    blocks: list[JsonDict] | None
    thread_ts: str | None
    ts: str
    payload: JsonDict = field(repr=False)

    @property
    def sent_blocks(self) -> list[JsonDict]:
        """``blocks``, for a test that expects some: it fails where the message had none."""
        return _expected_blocks(self.blocks, self.ts)


@dataclass(frozen=True)
class UpdateRecord:
    """One successful ``chat.update``; ``text``/``blocks`` are the values after the update."""

    channel: str
    ts: str
    text: str
    blocks: list[JsonDict] | None
    payload: JsonDict = field(repr=False)

    @property
    def sent_blocks(self) -> list[JsonDict]:
        """``blocks``, for a test that expects some: it fails where the update had none."""
        return _expected_blocks(self.blocks, self.ts)


def _expected_blocks(blocks: list[JsonDict] | None, ts: str) -> list[JsonDict]:
    assert blocks is not None, f"the message {ts} has no blocks"
    return blocks


FaultKind = Literal["rate_limited", "server_error", "error", "accept_then_hang"]


@dataclass(frozen=True)
class Fault:
    """A scripted misbehaviour for one call; build with the class-method helpers."""

    kind: FaultKind
    status: int = 200
    error_code: str = ""
    retry_after: int = 0
    seconds: float = 0.0

    @classmethod
    def rate_limited(cls, retry_after: int = 1) -> Fault:
        """HTTP 429 with ``Retry-After`` and ``{"ok": false, "error": "ratelimited"}``."""
        return cls("rate_limited", status=429, error_code="ratelimited", retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """That HTTP status with a small non-JSON body, like Slack's edge during an outage."""
        if not 500 <= status <= 599:
            raise ValueError(f"not a server error status: {status}")
        return cls("server_error", status=status)

    @classmethod
    def error(cls, name: str) -> Fault:
        """HTTP 200 with ``{"ok": false, "error": name}``."""
        return cls("error", error_code=name)

    @classmethod
    def accept_then_hang(cls, seconds: float) -> Fault:
        """Perform the call (a post IS recorded) but hold the response back for ``seconds``.

        Models the nastiest Slack failure: the client times out although the message was
        delivered, so a naive retry posts a duplicate. The hold ends early on stop.
        """
        return cls("accept_then_hang", seconds=seconds)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    hold: float = 0.0


class _SlackError(Exception):
    """Raised by a method implementation to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class _SlackHandler(LoopbackHandler):
    @property
    def emulator(self) -> SlackEmulator:
        return cast(SlackEmulator, self.owner)

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self.close_connection = True
        target = urlsplit(self.path)
        method = target.path.removeprefix("/api/") if target.path.startswith("/api/") else ""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if target.path.startswith(WEBHOOK_PATH):
            reply = self.emulator._webhook(body)
            self.send_body(
                reply.status, reply.body, {"Content-Type": reply.content_type, **reply.headers}
            )
            return
        reply = self.emulator._call(
            method,
            query=target.query,
            content_type=self.headers.get("Content-Type", ""),
            body=body,
            authorization=self.headers.get("Authorization", ""),
        )
        if reply.hold > 0 and not self.emulator.pause(reply.hold):
            return  # Emulator stopping: drop the connection without answering.
        self.send_body(
            reply.status, reply.body, {"Content-Type": reply.content_type, **reply.headers}
        )


WEBHOOK_PATH = "/services/"
WEBHOOK_CHANNEL = "#webhook"
"""Incoming-webhook posts are recorded as messages in this channel."""


class SlackEmulator(LoopbackServer):
    """Records posts and answers like Slack; scriptable faults for failure-path tests."""

    handler_class = _SlackHandler

    def __init__(self, token: str = "xoxb-test-token") -> None:
        super().__init__()
        self.token = token
        self.scopes: frozenset[str] = BOT_SCOPES
        """The token's scopes: a call needing another answers missing_scope."""
        self.private_channels: set[str] = set()
        """Channels whose history needs groups:history instead of channels:history."""
        self._cond = threading.Condition()
        self._messages: list[PostedMessage] = []
        self._updates: list[UpdateRecord] = []
        self._calls: list[tuple[str, JsonDict]] = []
        self._faults: defaultdict[str, deque[Fault]] = defaultdict(deque)
        self._failed_channels: dict[str, str] = {}
        self._token_refusal: str | None = None
        self._last_ts_us = 0
        self._methods: dict[str, Callable[[JsonDict], JsonDict]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
        }

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/api/``; the trailing slash is required by slack-sdk."""
        return f"{self.origin}/api/"

    # -- scripting ---------------------------------------------------------------------

    @property
    def webhook_url(self) -> str:
        """An incoming-webhook URL served here (like hooks.slack.com/services/...)."""
        return f"{self.origin}{WEBHOOK_PATH}T000/B000/secret"

    def _webhook(self, body: bytes) -> _Reply:
        """Incoming webhooks answer text, not JSON: "ok", or an error word with a status."""
        with self._cond:
            self._calls.append(("webhook", {}))
            fault = self._faults["webhook"].popleft() if self._faults["webhook"] else None
            if fault is not None:
                if fault.kind == "rate_limited":
                    return _Reply(
                        429, b"rate_limited", "text/plain", {"Retry-After": str(fault.retry_after)}
                    )
                if fault.kind == "server_error":
                    return _Reply(fault.status, b"server_error", "text/plain")
                return _Reply(400, fault.error_code.encode(), "text/plain")
            try:
                payload = json.loads(body)
            except ValueError:
                return _Reply(400, b"invalid_payload", "text/plain")
            self._messages.append(
                PostedMessage(
                    channel=WEBHOOK_CHANNEL,
                    text=payload.get("text", ""),
                    blocks=payload.get("blocks"),
                    thread_ts=None,
                    ts=self._next_ts(),
                    payload=payload,
                )
            )
            self._cond.notify_all()
            return _Reply(200, b"ok", "text/plain")

    def queue_faults(self, method: str, *faults: Fault) -> None:
        """Make the next calls of ``method`` misbehave, one fault per call, in order
        ("webhook" for the incoming-webhook endpoint)."""
        if method not in self._methods and method != "webhook":
            raise ValueError(f"unknown or unemulated Slack method: {method!r}")
        with self._cond:
            self._faults[method].extend(faults)

    def fail_channel(self, channel: str, error: str = "channel_not_found") -> None:
        """Answer every call naming ``channel`` with ``error`` until :meth:`heal_channel`."""
        with self._cond:
            self._failed_channels[channel] = error

    def heal_channel(self, channel: str) -> None:
        with self._cond:
            self._failed_channels.pop(channel, None)

    def reject_token(self, error: str = "token_revoked") -> None:
        """Answer every call made with the token ``error`` (``token_revoked``,
        ``account_inactive``, ``invalid_auth``...), auth.test included, until
        :meth:`accept_token`: the token went bad while the monitor holds it."""
        with self._cond:
            self._token_refusal = error

    def accept_token(self) -> None:
        with self._cond:
            self._token_refusal = None

    # -- observation -------------------------------------------------------------------

    @property
    def messages(self) -> list[PostedMessage]:
        """Snapshot of accepted messages (current text/blocks), in posting order."""
        with self._cond:
            return list(self._messages)

    def messages_in(self, channel: str) -> list[PostedMessage]:
        return [m for m in self.messages if m.channel == channel]

    def top_level(self, channel: str) -> list[PostedMessage]:
        """Messages in ``channel`` that are not thread replies."""
        return [m for m in self.messages_in(channel) if m.thread_ts is None]

    def replies_to(self, ts: str) -> list[PostedMessage]:
        """Thread replies to the message with timestamp ``ts``, oldest first."""
        return [m for m in self.messages if m.thread_ts == ts]

    @property
    def updates(self) -> list[UpdateRecord]:
        with self._cond:
            return list(self._updates)

    @property
    def calls(self) -> list[tuple[str, JsonDict]]:
        """Every call received, ``(method, decoded payload)``, including failed ones."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[JsonDict]:
        return [payload for name, payload in self.calls if name == method]

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[PostedMessage]:
        """Block until at least ``count`` messages were accepted; return them all.

        Raises AssertionError listing what did arrive, so a failing test says why.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._messages) >= count, timeout):
                arrived = [(m.channel, m.text) for m in self._messages]
                raise AssertionError(
                    f"expected at least {count} Slack message(s) within {timeout}s, "
                    f"got {len(arrived)}: {arrived}; calls: {[c[0] for c in self._calls]}"
                )
            return list(self._messages)

    def message(self, channel: str, ts: str) -> PostedMessage:
        """The message ``ts`` of ``channel`` as it stands now (after its updates)."""
        with self._cond:
            index = self._find(channel, ts)
            assert index is not None, f"no message {ts} in {channel}"
            return self._messages[index]

    def wait_for_updates(self, count: int, timeout: float = 10.0) -> list[UpdateRecord]:
        """Block until at least ``count`` chat.update calls succeeded; return them all."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._updates) >= count, timeout):
                raise AssertionError(
                    f"expected at least {count} chat.update call(s) within {timeout}s, "
                    f"got {len(self._updates)}; calls: {[c[0] for c in self._calls]}"
                )
            return list(self._updates)

    # -- interactivity: a person clicking -----------------------------------------------

    def click(
        self,
        message: PostedMessage,
        action_id: str,
        *,
        url: str,
        secret: str,
        user: SlackUser = DESK_MEMBER,
        at: datetime | None = None,
    ) -> ActionAnswer:
        """Click the button ``action_id`` of ``message`` as it stands now:
        Slack's block_actions request, signed with ``secret`` at ``at``
        (default: now), POSTed to ``url``. Fails if the message has no such button."""
        return send_interaction(
            url, self.interaction(message, action_id, user), secret=secret, at=at
        )

    def click_with_bad_signature(
        self, message: PostedMessage, action_id: str, *, url: str, at: datetime | None = None
    ) -> ActionAnswer:
        """The same click, with a signature that is not the secret's."""
        payload = self.interaction(message, action_id, DESK_MEMBER)
        return send_interaction(url, payload, secret="x", at=at, signed_as="v0=" + "0" * 64)

    def click_unsigned(self, message: PostedMessage, action_id: str, *, url: str) -> ActionAnswer:
        """The same click, with no signature headers at all."""
        return send_interaction(url, self.interaction(message, action_id, DESK_MEMBER), secret=None)

    def click_unknown_action(
        self,
        message: PostedMessage,
        *,
        url: str,
        secret: str,
        action_id: str = "monitor.escalate",
        at: datetime | None = None,
    ) -> ActionAnswer:
        """A well-signed click on an action the message has no button for,
        carrying the value of its first button."""
        with self._cond:
            current = self._current(message)
            first = next(iter(buttons_of(current.blocks).values()), {"value": "1"})
            payload = self._interaction_payload(
                current, {**first, "action_id": action_id}, DESK_MEMBER
            )
        return send_interaction(url, payload, secret=secret, at=at)

    def interaction(self, message: PostedMessage, action_id: str, user: SlackUser) -> JsonDict:
        """The block_actions payload of a click on ``action_id`` of the message as it stands now."""
        with self._cond:
            current = self._current(message)
            buttons = buttons_of(current.blocks)
            assert action_id in buttons, (
                f"message {current.ts} has no button {action_id!r}; it has {sorted(buttons)}"
            )
            return self._interaction_payload(current, buttons[action_id], user)

    def _current(self, message: PostedMessage) -> PostedMessage:
        index = self._find(message.channel, message.ts)
        assert index is not None, f"no message {message.ts} in {message.channel}"
        return self._messages[index]

    def _interaction_payload(
        self, message: PostedMessage, button: JsonDict, user: SlackUser
    ) -> JsonDict:
        return block_actions(
            message=self._to_json(message),
            channel=message.channel,
            button=button,
            user=user,
            team_id=TEAM_ID,
            response_url=f"{self.origin}/actions/{message.ts}",
        )

    # -- request handling (called from handler threads) --------------------------------

    def _call(
        self, method: str, *, query: str, content_type: str, body: bytes, authorization: str
    ) -> _Reply:
        decode_error: str | None = None
        try:
            payload = _decode_payload(query, content_type, body)
        except _SlackError as bad_request:
            payload, decode_error = {}, bad_request.error
        with self._cond:
            self._calls.append((method, payload))
            implementation = self._methods.get(method)
            if implementation is None:
                return _json_reply({"ok": False, "error": "unknown_method"}, status=404)
            token = authorization.removeprefix("Bearer ").strip() or payload.get("token")
            if not token:
                return _error_reply("not_authed")
            if token != self.token:
                return _error_reply("invalid_auth")
            if self._token_refusal is not None:
                return _error_reply(self._token_refusal)
            # Slack names the token's scopes on every authenticated answer.
            scope_header = {"x-oauth-scopes": ",".join(sorted(self.scopes))}
            needed = self._needed_scope(method, payload)
            if needed is not None:
                return _json_reply(
                    {
                        "ok": False,
                        "error": "missing_scope",
                        "needed": needed,
                        "provided": ",".join(sorted(self.scopes)),
                    },
                    headers=scope_header,
                )
            if decode_error is not None:
                return _error_reply(decode_error)
            fault = self._faults[method].popleft() if self._faults[method] else None
            if fault is not None and fault.kind != "accept_then_hang":
                return _fault_reply(fault)
            try:
                self._check_channel(payload)
                result = implementation(payload)
            except _SlackError as failure:
                return _error_reply(failure.error)
            self._cond.notify_all()
            return _json_reply(
                result, hold=fault.seconds if fault is not None else 0.0, headers=scope_header
            )

    def _needed_scope(self, method: str, payload: JsonDict) -> str | None:
        """The scope ``method`` needs that the token lacks, as Slack names it:
        reading history needs channels:history, or groups:history for a
        channel in :attr:`private_channels`."""
        if method in ("chat.postMessage", "chat.update"):
            needed = "chat:write"
        elif method in ("conversations.history", "conversations.replies"):
            private = payload.get("channel") in self.private_channels
            needed = "groups:history" if private else "channels:history"
        else:
            return None
        return None if needed in self.scopes else needed

    def _check_channel(self, payload: JsonDict) -> None:
        channel = payload.get("channel")
        if isinstance(channel, str) and channel in self._failed_channels:
            raise _SlackError(self._failed_channels[channel])

    def _next_ts(self) -> str:
        """Wall-clock-ish, strictly increasing Slack timestamp: ``"1700000000.000100"``."""
        self._last_ts_us = max(self._last_ts_us + 1, time.time_ns() // 1000)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _find(self, channel: str, ts: str) -> int | None:
        for index, message in enumerate(self._messages):
            if message.channel == channel and message.ts == ts:
                return index
        return None

    def _to_json(self, message: PostedMessage) -> JsonDict:
        """A message as Slack's read APIs present it, including thread metadata."""
        data: JsonDict = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": message.text,
            "ts": message.ts,
        }
        if message.blocks is not None:
            data["blocks"] = message.blocks
        if message.payload.get("metadata"):
            data["metadata"] = message.payload["metadata"]
        if message.thread_ts is not None:
            data["thread_ts"] = message.thread_ts
        else:
            replies = [m for m in self._messages if m.thread_ts == message.ts]
            if replies:
                data["thread_ts"] = message.ts
                data["reply_count"] = len(replies)
                data["latest_reply"] = replies[-1].ts
        return data

    # -- Web API methods (run with self._cond held) ------------------------------------

    def _auth_test(self, payload: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "url": "https://watchdesk-emulated.slack.com/",
            "team": TEAM_NAME,
            "user": "watchdesk-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _chat_post_message(self, payload: JsonDict) -> JsonDict:
        channel = _required(payload, "channel", "channel_not_found")
        text = str(payload.get("text") or "")
        blocks = payload.get("blocks")
        if not text and not blocks and not payload.get("attachments"):
            raise _SlackError("no_text")
        thread_ts = payload.get("thread_ts")
        message = PostedMessage(
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=str(thread_ts) if thread_ts else None,
            ts=self._next_ts(),
            payload=payload,
        )
        self._messages.append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": self._to_json(message),
        }

    def _chat_update(self, payload: JsonDict) -> JsonDict:
        channel = _required(payload, "channel", "channel_not_found")
        ts = _required(payload, "ts", "message_not_found")
        index = self._find(channel, ts)
        if index is None:
            raise _SlackError("message_not_found")
        message = self._messages[index]
        if "text" in payload:
            message = replace(message, text=str(payload["text"] or ""))
        if "blocks" in payload:
            message = replace(message, blocks=payload["blocks"])
        self._messages[index] = message
        self._updates.append(UpdateRecord(channel, ts, message.text, message.blocks, payload))
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message.text,
            "message": self._to_json(message),
        }

    def _chat_get_permalink(self, payload: JsonDict) -> JsonDict:
        channel = _required(payload, "channel", "channel_not_found")
        ts = _required(payload, "message_ts", "message_not_found")
        if self._find(channel, ts) is None:
            raise _SlackError("message_not_found")
        permalink_id = "p" + ts.replace(".", "")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://watchdesk-emulated.slack.com/archives/{channel}/{permalink_id}",
        }

    def _conversations_history(self, payload: JsonDict) -> JsonDict:
        """Top-level messages only, newest first, honouring limit/oldest/latest/inclusive."""
        channel = _required(payload, "channel", "channel_not_found")
        limit = _int_arg(payload, "limit", default=100)
        oldest = _ts_arg(payload, "oldest")
        latest = _ts_arg(payload, "latest")
        inclusive = str(payload.get("inclusive", "")).lower() in ("1", "true")

        def in_window(ts: str) -> bool:
            value = Decimal(ts)
            if oldest is not None and (value < oldest or (value == oldest and not inclusive)):
                return False
            return latest is None or value < latest or (value == latest and inclusive)

        matching = [
            m
            for m in reversed(self._messages)
            if m.channel == channel and m.thread_ts is None and in_window(m.ts)
        ]
        return {
            "ok": True,
            "messages": [self._to_json(m) for m in matching[:limit]],
            "has_more": len(matching) > limit,
            "pin_count": 0,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_replies(self, payload: JsonDict) -> JsonDict:
        """The thread containing ``ts``: parent first, then replies oldest first."""
        channel = _required(payload, "channel", "channel_not_found")
        ts = _required(payload, "ts", "thread_not_found")
        index = self._find(channel, ts)
        if index is None:
            raise _SlackError("thread_not_found")
        parent_ts = self._messages[index].thread_ts or ts
        parent = self._find(channel, parent_ts)
        thread = [self._messages[parent]] if parent is not None else []
        thread += [m for m in self._messages if m.channel == channel and m.thread_ts == parent_ts]
        return {
            "ok": True,
            "messages": [self._to_json(m) for m in thread],
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _decode_payload(query: str, content_type: str, body: bytes) -> JsonDict:
    """Merge query-string and body parameters, whatever encoding the client chose."""
    payload: JsonDict = dict(parse_qsl(query, keep_blank_values=True))
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        try:
            decoded = json.loads(body or b"{}")
        except ValueError as error:
            raise _SlackError("invalid_json") from error
        if not isinstance(decoded, dict):
            raise _SlackError("invalid_json")
        payload.update(decoded)
    elif media_type in ("application/x-www-form-urlencoded", ""):
        try:
            payload.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as error:
            raise _SlackError("invalid_form_data") from error
        for name in _JSON_FORM_FIELDS:
            if isinstance(payload.get(name), str):
                try:
                    payload[name] = json.loads(payload[name])
                except ValueError as error:
                    raise _SlackError(f"invalid_{name}") from error
    else:
        raise _SlackError("invalid_form_data")
    return payload


def _required(payload: JsonDict, name: str, error: str) -> str:
    value = payload.get(name)
    if value is None or value == "":
        raise _SlackError(error)
    return str(value)


def _int_arg(payload: JsonDict, name: str, *, default: int) -> int:
    try:
        value = int(payload.get(name, default))
    except (TypeError, ValueError) as error:
        raise _SlackError("invalid_arguments") from error
    return max(1, value)


def _ts_arg(payload: JsonDict, name: str) -> Decimal | None:
    raw = payload.get(name)
    if raw is None or raw == "":
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation as error:
        raise _SlackError(f"invalid_ts_{name}") from error


def _json_reply(
    data: JsonDict, *, status: int = 200, hold: float = 0.0, headers: dict[str, str] | None = None
) -> _Reply:
    return _Reply(status=status, body=json.dumps(data).encode(), hold=hold, headers=headers or {})


def _error_reply(error: str) -> _Reply:
    return _json_reply({"ok": False, "error": error})


def _fault_reply(fault: Fault) -> _Reply:
    if fault.kind == "rate_limited":
        return _Reply(
            status=429,
            body=json.dumps({"ok": False, "error": "ratelimited"}).encode(),
            headers={"Retry-After": str(fault.retry_after)},
        )
    if fault.kind == "server_error":
        return _Reply(
            status=fault.status,
            body=f"emulated Slack server error {fault.status}\n".encode(),
            content_type="text/plain; charset=utf-8",
        )
    return _error_reply(fault.error_code)
