"""Where alerts go: Slack through slack-sdk, or the console.

A sink sends one alert and returns a reference (Slack's ``ts``) or raises a
:class:`TransientDeliveryError` or :class:`PermanentDeliveryError`; the
delivery loop decides what to do about either. slack-sdk errors are
translated here and nowhere else.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import datetime
from http.client import HTTPException
from typing import Protocol, TextIO
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

from monitor.alerts.model import OutboxEntry
from monitor.alerts.render import SlackMessage, console_line, slack_message
from monitor.config import mention_syntax
from monitor.errors import PermanentDeliveryError, TransientDeliveryError

# Errors about the channel or the token: nothing is wrong with the message,
# and every message to this destination fails until a person acts; then
# `monitor retry` sends what failed meanwhile.
DESTINATION_SLACK_ERRORS = frozenset(
    {
        "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "not_authed",
        "account_inactive", "token_revoked", "token_expired", "missing_scope", "no_permission",
        "restricted_action", "restricted_action_read_only_channel", "ekm_access_denied",
        "team_access_not_granted", "org_login_required",
    }
)  # fmt: skip
# Errors about this one message: resending it unchanged cannot succeed.
MESSAGE_SLACK_ERRORS = frozenset(
    {"msg_too_long", "invalid_blocks", "invalid_arguments", "no_text", "invalid_attachments",
     "too_many_attachments", "invalid_blocks_format", "markdown_text_conflict"}
)  # fmt: skip


_FIXES = {
    "not_in_channel": " (invite the bot to the channel, then run monitor retry)",
    "channel_not_found": " (check the channel name, and that the bot can see it)",
    "is_archived": " (unarchive the channel or route its alerts elsewhere)",
    "invalid_auth": " (check SLACK_BOT_TOKEN)",
    "token_revoked": " (issue a new token and set SLACK_BOT_TOKEN)",
    "missing_scope": " (the app needs the chat:write scope)",
}


class Sink(Protocol):
    @property
    def destination(self) -> str:
        """Where alerts go, for logs and the outbox (never contains secrets)."""
        ...

    @property
    def min_interval(self) -> float:
        """Least seconds between two posts to one channel."""
        ...

    @property
    def single_channel(self) -> bool:
        """True when every post lands in one fixed channel (an incoming webhook)."""
        ...

    def send(self, entry: OutboxEntry, now: datetime) -> str | None:
        """Deliver one alert to its channel; return the destination's message id."""
        ...


class ConsoleSink:
    """Prints one line per alert; the default when no Slack token is set."""

    min_interval = 0.0
    single_channel = False

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    @property
    def destination(self) -> str:
        return "console"

    def send(self, entry: OutboxEntry, now: datetime) -> str | None:
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(console_line(entry.alert, entry.channel) + "\n")
            stream.flush()
        return None


class SlackSink:
    """Posts alerts as Block Kit messages with chat.postMessage."""

    single_channel = False

    def __init__(
        self, client: WebClient, *, unfurl_links: bool = False, min_interval: float = 1.0
    ) -> None:
        self._client = client
        self._unfurl = unfurl_links
        self.min_interval = min_interval

    @property
    def destination(self) -> str:
        return "slack"

    def send(self, entry: OutboxEntry, now: datetime) -> str | None:
        message = render_entry(entry, now)
        response = self._call(
            entry.channel,
            lambda: self._client.chat_postMessage(
                channel=entry.channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=self._unfurl,
                unfurl_media=self._unfurl,
            ),
        )
        ts = response.get("ts")
        return str(ts) if ts is not None else None

    def post_text(self, channel: str, text: str) -> str | None:
        """A plain message (slack-test); the same error translation as alerts."""
        response = self._call(
            channel, lambda: self._client.chat_postMessage(channel=channel, text=text)
        )
        ts = response.get("ts")
        return str(ts) if ts is not None else None

    def _call(self, channel: str, call: Callable[[], SlackResponse]) -> SlackResponse:
        try:
            return call()
        except SlackApiError as exc:
            raise _translate_api_error(exc, channel) from exc
        except SlackClientError as exc:
            raise PermanentDeliveryError(f"Slack client refused the request: {exc}") from exc
        except (URLError, OSError, HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise TransientDeliveryError(f"cannot reach Slack: {reason}") from exc
        except (ValueError, LookupError) as exc:
            # An answer that is not Slack's (a proxy's page in an odd charset).
            raise TransientDeliveryError(f"unreadable answer from Slack: {exc}") from exc


class WebhookSink:
    """Posts through an incoming webhook: one fixed channel, no threads or updates."""

    single_channel = True

    def __init__(self, client: WebhookClient, *, min_interval: float = 1.0) -> None:
        self._client = client
        self.min_interval = min_interval

    @property
    def destination(self) -> str:
        return "slack-webhook"

    def send(self, entry: OutboxEntry, now: datetime) -> str | None:
        message = render_entry(entry, now)
        try:
            response = self._client.send(
                text=message.text, blocks=message.blocks, unfurl_links=False
            )
        except (URLError, OSError, HTTPException, ValueError) as exc:
            raise TransientDeliveryError(f"cannot reach the Slack webhook: {exc}") from exc
        # WebhookClient never raises on an HTTP error status: check it here.
        if response.status_code == 429:
            retry_after = _retry_after(response.headers)
            raise TransientDeliveryError(
                "Slack webhook rate limit", retry_after=retry_after, scope="channel"
            )
        if response.status_code >= 500:
            raise TransientDeliveryError(f"Slack webhook answered HTTP {response.status_code}")
        if response.status_code != 200 or response.body != "ok":
            raise PermanentDeliveryError(
                f"Slack webhook refused the message: HTTP {response.status_code} {str(response.body)[:100]}"
            )
        return None


def render_entry(entry: OutboxEntry, now: datetime) -> SlackMessage:
    return slack_message(
        entry.alert, now=now, mentions=tuple(mention_syntax(m) for m in entry.mentions)
    )


def _translate_api_error(exc: SlackApiError, channel: str) -> Exception:
    response = exc.response
    status = response.status_code
    error = str(response.get("error") or "") if isinstance(response.data, dict) else ""
    if status == 429 or error == "ratelimited":
        retry_after = _retry_after(response.headers)
        return TransientDeliveryError(
            f"Slack rate limit on {channel}"
            + (f" (retry after {retry_after:g}s)" if retry_after else ""),
            retry_after=retry_after,
            scope="channel",
        )
    if status >= 500 or error.startswith("Received a response in a non-JSON format"):
        return TransientDeliveryError(
            f"Slack answered HTTP {status}" + (f" ({error[:120]})" if error else "")
        )
    if error in DESTINATION_SLACK_ERRORS:
        return PermanentDeliveryError(
            f"Slack refuses posts to {channel}: {error}{_FIXES.get(error, '')}"
        )
    if error in MESSAGE_SLACK_ERRORS:
        return PermanentDeliveryError(f"Slack refused the message for {channel}: {error}")
    # An error this code does not know: assume it is about this message, so
    # that it cannot hold up every other alert, and retry it with backoff.
    return TransientDeliveryError(
        f"Slack answered HTTP {status}: {error or 'unknown error'}", scope="message"
    )


def _retry_after(headers: object) -> float | None:
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter("Retry-After") or getter("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
