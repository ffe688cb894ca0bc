"""Where alerts go: Slack through slack-sdk, or the console.

A sink sends one alert and returns a reference (Slack's ``ts``) or raises a
:class:`TransientDeliveryError`, a :class:`PermanentDeliveryError`, or a
:class:`TokenRejectedError` when Slack refuses the token itself; the
delivery loop decides what to do about each. slack-sdk errors are
translated here and nowhere else.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.client import HTTPException
from typing import Protocol, TextIO
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

from monitor.config import mention_syntax
from monitor.delivery.render import SlackMessage, console_line, slack_message
from monitor.domain.alert import OutboxEntry
from monitor.errors import PermanentDeliveryError, TokenRejectedError, TransientDeliveryError

# Errors about the token itself: no post to any channel can succeed until a
# person fixes it, and no alert is to blame, so delivery holds every alert
# pending rather than fail them one by one (see TokenRejectedError).
TOKEN_SLACK_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
TOKEN_FIXES = {
    "invalid_auth": "SLACK_BOT_TOKEN is not a valid token: copy the app's Bot User OAuth Token",
    "not_authed": "set SLACK_BOT_TOKEN to the app's Bot User OAuth Token",
    "token_revoked": "the token was revoked: reinstall the app and set the new SLACK_BOT_TOKEN",
    "token_expired": "the token expired: reinstall the app and set the new SLACK_BOT_TOKEN",
    "account_inactive": "the bot's account is deactivated: reinstall the app",
}
# Errors about the channel or the token's scopes: nothing is wrong with the
# message, and every message to this channel fails until a person acts;
# then `monitor retry` sends what failed meanwhile.
DESTINATION_SLACK_ERRORS = frozenset(
    {
        "channel_not_found", "not_in_channel", "is_archived", "missing_scope", "no_permission",
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
    "missing_scope": " (the app needs the chat:write scope)",
}


@dataclass(frozen=True)
class Posted:
    """What the destination said about a post: its message id and channel id."""

    ts: str | None = None
    channel_id: str | None = None


MARKER_EVENT = "watchdesk_alert"


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

    @property
    def supports_threads(self) -> bool:
        """True when the sink can reply in a thread and edit a message."""
        ...

    def send(self, entry: OutboxEntry, now: datetime, *, thread_ts: str | None = None) -> Posted:
        """Deliver one alert to its channel (as a reply when ``thread_ts`` is given)."""
        ...

    def update(
        self, channel_id: str, ts: str, entry: OutboxEntry, now: datetime, sources: int
    ) -> None:
        """Edit an alert already posted (a thread parent's count of sources)."""
        ...

    def find_posted(
        self, entry: OutboxEntry, oldest: datetime, channel_id: str | None = None
    ) -> Posted | None:
        """The alert's own post, if Slack already has it (after a timeout).
        ``channel_id``: the channel's id from an earlier answer, if known."""
        ...

    def post(self, channel: str, message: SlackMessage) -> Posted:
        """A message that is not one alert (a storm roll-up, a digest)."""
        ...


class _NoThreads:
    """For sinks that can neither edit a message nor look one up."""

    supports_threads = False

    def update(
        self, channel_id: str, ts: str, entry: OutboxEntry, now: datetime, sources: int
    ) -> None:
        return None

    def find_posted(
        self, entry: OutboxEntry, oldest: datetime, channel_id: str | None = None
    ) -> Posted | None:
        return None


class ConsoleSink(_NoThreads):
    """Prints one line per alert; the default when no Slack token is set."""

    min_interval = 0.0
    single_channel = False

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    @property
    def destination(self) -> str:
        return "console"

    def send(self, entry: OutboxEntry, now: datetime, *, thread_ts: str | None = None) -> Posted:
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(console_line(entry.alert, entry.channel) + "\n")
            stream.flush()
        return Posted()

    def post(self, channel: str, message: SlackMessage) -> Posted:
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(f"{message.text} -> {channel}\n")
            stream.flush()
        return Posted()


class SlackSink:
    """Posts alerts as Block Kit messages with chat.postMessage.

    Every post carries the alert's id in Slack message metadata, so that
    after a timeout the monitor can look for it in the channel's history
    instead of posting a second copy.
    """

    single_channel = False
    supports_threads = True

    def __init__(
        self, client: WebClient, *, unfurl_links: bool = False, min_interval: float = 1.0
    ) -> None:
        self._client = client
        self._unfurl = unfurl_links
        self.min_interval = min_interval
        self._channel_ids: dict[str, str] = {}

    @property
    def destination(self) -> str:
        return "slack"

    def send(self, entry: OutboxEntry, now: datetime, *, thread_ts: str | None = None) -> Posted:
        message = render_entry(entry, now)
        response = self._call(
            entry.channel,
            lambda: self._client.chat_postMessage(
                channel=entry.channel,
                text=message.text,
                blocks=message.blocks,
                thread_ts=thread_ts,
                unfurl_links=self._unfurl,
                unfurl_media=self._unfurl,
                metadata={"event_type": MARKER_EVENT, "event_payload": {"alert_id": str(entry.id)}},
            ),
        )
        return self._posted(entry.channel, response)

    def update(
        self, channel_id: str, ts: str, entry: OutboxEntry, now: datetime, sources: int
    ) -> None:
        # No mentions in the edit: the parent already notified when it was posted.
        message = slack_message(entry.alert, now=now, sources=sources)
        self._call(
            entry.channel,
            lambda: self._client.chat_update(
                channel=channel_id, ts=ts, text=message.text, blocks=message.blocks
            ),
        )

    def find_posted(
        self, entry: OutboxEntry, oldest: datetime, channel_id: str | None = None
    ) -> Posted | None:
        # conversations.history wants the channel's id, not its name; after a
        # restart this process has not seen it yet, so the store passes it in.
        channel = channel_id or self._channel_ids.get(entry.channel, entry.channel)
        response = self._call(
            entry.channel,
            lambda: self._client.conversations_history(
                channel=channel,
                oldest=f"{oldest.timestamp():.6f}",
                limit=200,
                include_all_metadata=True,
            ),
        )
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == MARKER_EVENT and payload.get("alert_id") == str(
                entry.id
            ):
                return Posted(str(message.get("ts")), channel)
        return None

    def post_text(self, channel: str, text: str) -> Posted:
        """A plain message (slack-test); the same error translation as alerts."""
        response = self._call(
            channel, lambda: self._client.chat_postMessage(channel=channel, text=text)
        )
        return self._posted(channel, response)

    def post(self, channel: str, message: SlackMessage) -> Posted:
        response = self._call(
            channel,
            lambda: self._client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        return self._posted(channel, response)

    def _posted(self, channel: str, response: SlackResponse) -> Posted:
        ts, channel_id = response.get("ts"), response.get("channel")
        if channel_id:
            self._channel_ids[channel] = str(channel_id)
        return Posted(str(ts) if ts else None, str(channel_id) if channel_id else None)

    def _call(self, channel: str, call: Callable[[], SlackResponse]) -> SlackResponse:
        try:
            return call()
        except SlackApiError as exc:
            raise _translate_api_error(exc, channel) from exc
        except SlackClientError as exc:
            raise PermanentDeliveryError(f"Slack client refused the request: {exc}") from exc
        except TimeoutError as exc:
            raise TransientDeliveryError(
                f"Slack did not answer in time: the post may have arrived ({exc})", uncertain=True
            ) from exc
        except (URLError, OSError, HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise TransientDeliveryError(
                f"cannot reach Slack: {reason}", uncertain=isinstance(reason, TimeoutError)
            ) from exc
        except (ValueError, LookupError) as exc:
            # An answer that is not Slack's (a proxy's page in an odd charset).
            raise TransientDeliveryError(
                f"unreadable answer from Slack: {exc}", uncertain=True
            ) from exc


class WebhookSink(_NoThreads):
    """Posts through an incoming webhook: one fixed channel, no threads or updates."""

    single_channel = True

    def __init__(self, client: WebhookClient, *, min_interval: float = 1.0) -> None:
        self._client = client
        self.min_interval = min_interval

    @property
    def destination(self) -> str:
        return "slack-webhook"

    def send(self, entry: OutboxEntry, now: datetime, *, thread_ts: str | None = None) -> Posted:
        return self.post(entry.channel, render_entry(entry, now))

    def post(self, channel: str, message: SlackMessage) -> Posted:
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
        return Posted()


def token_rejection(code: str) -> str:
    """Slack's refusal of the token, with what fixes it."""
    return f"Slack rejects SLACK_BOT_TOKEN ({code}): {TOKEN_FIXES.get(code, 'check the token')}"


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
    if error in TOKEN_SLACK_ERRORS:
        return TokenRejectedError(token_rejection(error), code=error)
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
