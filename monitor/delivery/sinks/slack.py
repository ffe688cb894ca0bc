"""Slack through its Web API (slack-sdk): Block Kit posts, threads, edits,
and the look in a channel's history after a lost answer.

slack-sdk's errors are translated here into the delivery errors, and
nowhere else (the incoming webhook has its own, :mod:`.webhook`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from http.client import HTTPException
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

from monitor.delivery.message import AlertPost, Message
from monitor.delivery.render import render
from monitor.delivery.sinks.base import Posted, SinkSetup
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

MARKER_EVENT = "watchdesk_alert"
"""The metadata event every alert post carries, with the alert's id, so
that the post can be found again."""


def web_client(api_url: str, timeout: float, token: str) -> WebClient:
    """The slack-sdk client delivery and slack-test use.

    No retry handlers: the outbox retries, and slack-sdk's connection retry
    would re-post a message Slack may already have accepted."""
    return WebClient(token=token, base_url=api_url, timeout=int(timeout), retry_handlers=[])


def slack_sink(setup: SinkSetup) -> SlackSink:
    """The registry's factory: ``setup.secret`` is the bot token."""
    if setup.secret is None:
        raise ValueError("the slack sink needs a bot token")
    client = web_client(setup.api_url, setup.timeout, setup.secret)
    return SlackSink(client, unfurl_links=setup.unfurl_links, min_interval=setup.min_interval)


class SlackSink:
    """Posts Block Kit messages with chat.postMessage; a threading sink.

    Every alert post carries the alert's id in Slack message metadata, so
    that after a timeout the monitor can look for it in the channel's
    history instead of posting a second copy.
    """

    def __init__(
        self, client: WebClient, *, unfurl_links: bool = False, min_interval: float = 1.0
    ) -> None:
        self._client = client
        self._unfurl = unfurl_links
        self.min_interval = min_interval
        self._channel_ids: dict[str, str] = {}

    @property
    def destination(self) -> str:
        """Always ``slack``."""
        return "slack"

    def post(self, channel: str, message: Message) -> Posted:
        """Post at the top level; an alert with its metadata and unfurl setting."""
        if isinstance(message, AlertPost):
            return self._post_alert(channel, message, thread_ref=None)
        payload = render(message)
        response = self._call(
            channel,
            lambda: self._client.chat_postMessage(
                channel=channel,
                text=payload.text,
                blocks=payload.blocks,
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        return self._posted(channel, response)

    def reply(self, channel: str, thread_ref: str, message: AlertPost) -> Posted:
        """Post an alert in the thread of the post ``thread_ref`` (its ts)."""
        return self._post_alert(channel, message, thread_ref=thread_ref)

    def edit(self, channel: str, channel_ref: str, ref: str, message: AlertPost) -> None:
        """chat.update of the post ``ref`` in the channel whose id is ``channel_ref``."""
        payload = render(message)
        self._call(
            channel,
            lambda: self._client.chat_update(
                channel=channel_ref, ts=ref, text=payload.text, blocks=payload.blocks
            ),
        )

    def find_posted(
        self, channel: str, alert_id: int, oldest: datetime, channel_ref: str | None = None
    ) -> Posted | None:
        """Search the channel's history since ``oldest`` for the alert's metadata."""
        # conversations.history wants the channel's id, not its name; after a
        # restart this process has not seen it yet, so the store passes it in.
        channel_id = channel_ref or self._channel_ids.get(channel, channel)
        response = self._call(
            channel,
            lambda: self._client.conversations_history(
                channel=channel_id,
                oldest=f"{oldest.timestamp():.6f}",
                limit=200,
                include_all_metadata=True,
            ),
        )
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == MARKER_EVENT and payload.get("alert_id") == str(
                alert_id
            ):
                return Posted(str(message.get("ts")), channel_id)
        return None

    def _post_alert(self, channel: str, message: AlertPost, *, thread_ref: str | None) -> Posted:
        payload = render(message)
        response = self._call(
            channel,
            lambda: self._client.chat_postMessage(
                channel=channel,
                text=payload.text,
                blocks=payload.blocks,
                thread_ts=thread_ref,
                unfurl_links=self._unfurl,
                unfurl_media=self._unfurl,
                metadata={
                    "event_type": MARKER_EVENT,
                    "event_payload": {"alert_id": str(message.alert_id)},
                },
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


def token_rejection(code: str) -> str:
    """Slack's refusal of the token, with what fixes it."""
    return f"Slack rejects SLACK_BOT_TOKEN ({code}): {TOKEN_FIXES.get(code, 'check the token')}"


def retry_after(headers: object) -> float | None:
    """Seconds a Retry-After header asks to wait, if it says."""
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


def _translate_api_error(exc: SlackApiError, channel: str) -> Exception:
    response = exc.response
    status = response.status_code
    error = str(response.get("error") or "") if isinstance(response.data, dict) else ""
    if status == 429 or error == "ratelimited":
        wait = retry_after(response.headers)
        return TransientDeliveryError(
            f"Slack rate limit on {channel}" + (f" (retry after {wait:g}s)" if wait else ""),
            retry_after=wait,
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
