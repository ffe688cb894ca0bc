"""Slack's side of interactivity, for the emulator: the ``block_actions``
request a click on a message's button makes, signed as Slack signs it and
posted to the app's Request URL.

The request as Slack documents it: a POST of
``application/x-www-form-urlencoded`` with one field, ``payload``, holding
the interaction as JSON; ``X-Slack-Request-Timestamp`` (Unix seconds) and
``X-Slack-Signature``, ``v0=`` and the hex HMAC-SHA256, keyed with the app's
signing secret, of ``v0:<timestamp>:<body>``. The signature is computed
here with hashlib, not with slack-sdk, so that the monitor's check is
tested against the protocol rather than against itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

JsonDict = dict[str, Any]

APP_ID = "A0WATCHAPP"


@dataclass(frozen=True)
class SlackUser:
    """Who clicks."""

    id: str
    name: str


DESK_MEMBER = SlackUser("U0DESK0001", "jane.doe")
"""The desk member who clicks, unless a test says otherwise."""


@dataclass(frozen=True)
class ActionAnswer:
    """What the app's Request URL answered."""

    status: int
    body: str


def buttons_of(blocks: list[JsonDict] | None) -> dict[str, JsonDict]:
    """The buttons of a message's blocks, by action id."""
    found: dict[str, JsonDict] = {}
    for block in blocks or []:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            if element.get("type") == "button":
                found[str(element["action_id"])] = {**element, "block_id": block.get("block_id")}
    return found


def block_actions(
    *,
    message: JsonDict,
    channel: str,
    button: JsonDict,
    user: SlackUser,
    team_id: str,
    response_url: str,
) -> JsonDict:
    """The interaction payload of a click on ``button`` of ``message`` (the
    message as Slack's read APIs present it) in ``channel``."""
    return {
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "emulated-verification-token",  # deprecated by Slack; apps verify signatures
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{int(time.time())}.1.emulated",
        "team": {"id": team_id, "domain": "watchdesk-emulated"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel.lstrip("#")},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": button.get("block_id"),
                "text": button.get("text", {"type": "plain_text", "text": "?"}),
                "value": button.get("value"),
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's X-Slack-Signature of ``body`` sent at ``timestamp``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def send_interaction(
    url: str,
    payload: JsonDict,
    *,
    secret: str | None,
    at: datetime | None = None,
    signed_as: str | None = None,
) -> ActionAnswer:
    """POST ``payload`` to ``url`` as Slack does, signed with ``secret``
    (None: with no signature headers at all) at ``at`` (default: now);
    ``signed_as`` replaces the signature with that text."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(int(at.timestamp() if at is not None else time.time()))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if secret is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
        headers["X-Slack-Signature"] = signed_as or signature(secret, timestamp, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return ActionAnswer(response.status, response.read().decode())
    except urllib.error.HTTPError as refused:
        return ActionAnswer(refused.code, refused.read().decode())
