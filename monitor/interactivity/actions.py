"""Slack's interaction requests, read: the signature checked, and the payload
turned into the one action a click on an alert's button stands for, or
refused with the HTTP status to answer and a reason fit for the log.

Pure: the request's body, its two signature headers and ``now`` in; an
:class:`Action` or a :class:`Refusal` out. No reason quotes the signature.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from monitor.delivery.render import BUTTONS
from monitor.domain.kinds import FeedbackKind

MAX_SKEW = timedelta(minutes=5)
"""How far a request's timestamp may be from now: an older one may be a
recorded request played again, and Slack's own are never that late."""
ACTION_KINDS: dict[str, FeedbackKind] = {
    button.action_id: button.kind for button in BUTTONS.values()
}
"""What each button's action id says of the alert."""
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_DIGITS = re.compile(r"[0-9]{1,18}")
_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,8}")


@dataclass(frozen=True)
class Action:
    """A desk member's click on a button of an alert's post."""

    kind: FeedbackKind
    alert_id: int
    """The outbox id the button carries."""
    user_id: str
    user_name: str
    channel_ref: str
    """Slack's id of the channel the post is in."""
    message_ref: str
    """The post's ts: where the update goes."""


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, and the HTTP status that says so."""

    status: int
    reason: str


class _At(Clock):
    """slack-sdk's verifier asks a clock; this one says the ``now`` given."""

    def __init__(self, now: datetime) -> None:
        self._now = now.timestamp()

    def now(self) -> float:
        return self._now


def check_signature(
    secret: str, body: bytes, *, timestamp: str | None, signature: str | None, now: datetime
) -> Refusal | None:
    """None when ``body`` was signed with ``secret`` within :data:`MAX_SKEW`
    of ``now`` (Slack's X-Slack-Request-Timestamp and X-Slack-Signature);
    else why not, as a 401."""
    if not timestamp or not signature:
        return Refusal(401, "no X-Slack-Signature or X-Slack-Request-Timestamp header")
    if not _DIGITS.fullmatch(timestamp.strip()):
        return Refusal(401, "the request timestamp is not a number of seconds")
    skew = now.timestamp() - int(timestamp)
    if abs(skew) > MAX_SKEW.total_seconds():
        return Refusal(401, f"stale request timestamp ({int(skew)} s from now)")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(401, "bad signature (the body is not UTF-8)")
    verifier = SignatureVerifier(secret, clock=_At(now))
    if not verifier.is_valid(body, timestamp.strip(), signature.strip()):
        return Refusal(401, "bad signature")
    return None


def parse_action(body: bytes) -> Action | Refusal:
    """The click a signed request reports: a ``block_actions`` payload with
    one action on one of the alert buttons; else a 400 saying what is wrong."""
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return Refusal(400, "the body is not a form")
    payloads = form.get("payload", [])
    if len(payloads) != 1:
        return Refusal(400, "the form has no single payload field")
    try:
        payload = json.loads(payloads[0])
    except ValueError:
        return Refusal(400, "the payload is not JSON")
    if not isinstance(payload, dict):
        return Refusal(400, "the payload is not a JSON object")
    if payload.get("type") != "block_actions":
        return Refusal(400, f"unsupported interaction type {_shown(payload.get('type'))}")
    actions = payload.get("actions")
    if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
        return Refusal(400, "the payload does not hold exactly one action")
    return _action(payload, actions[0])


def _action(payload: dict[str, Any], action: dict[str, Any]) -> Action | Refusal:
    action_id = action.get("action_id")
    kind = ACTION_KINDS.get(action_id) if isinstance(action_id, str) else None
    if kind is None:
        return Refusal(400, f"unknown action {_shown(action_id)}")
    value = action.get("value")
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        return Refusal(400, f"action {action_id} names no alert ({_shown(value)})")
    user = _object(payload.get("user"))
    user_id = user.get("id")
    if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
        return Refusal(400, f"the payload names no Slack user ({_shown(user_id)})")
    names = (user.get("username"), user.get("name"))
    user_name = next((n for n in names if isinstance(n, str) and n.strip()), user_id)
    container = _object(payload.get("container"))
    message_ref = container.get("message_ts") or _object(payload.get("message")).get("ts")
    channel_ref = container.get("channel_id") or _object(payload.get("channel")).get("id")
    if not isinstance(message_ref, str) or not _TS.fullmatch(message_ref):
        return Refusal(400, "the action comes from no message")
    if not isinstance(channel_ref, str) or not channel_ref.strip():
        return Refusal(400, "the action comes from no channel")
    return Action(kind, int(value), user_id, user_name.strip(), channel_ref, message_ref)


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _shown(value: object) -> str:
    """A value from the request as the log may show it: quoted and short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"
