"""Where alerts go: Slack through slack-sdk, or the console.

A sink sends one alert and returns a reference (Slack's ``ts``) or raises a
:class:`TransientDeliveryError` or :class:`PermanentDeliveryError`; the
delivery loop decides what to do about either. slack-sdk errors are
translated here and nowhere else.
"""

from __future__ import annotations

import sys
import threading
from http.client import HTTPException
from typing import Protocol, TextIO
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from monitor.alerts.model import Alert
from monitor.alerts.render import console_line, slack_text
from monitor.errors import PermanentDeliveryError, TransientDeliveryError

# Errors about the channel or the token: nothing is wrong with the message,
# and every message to this destination fails until a person acts. Alerts
# wait in the outbox meanwhile, so inviting the bot delivers them.
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


class Sink(Protocol):
    @property
    def destination(self) -> str:
        """Where alerts go, for logs and the outbox (never contains secrets)."""
        ...

    def send(self, alert: Alert) -> str | None: ...


class ConsoleSink:
    """Prints one line per alert; the default when no Slack token is set."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    @property
    def destination(self) -> str:
        return "console"

    def send(self, alert: Alert) -> str | None:
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(console_line(alert) + "\n")
            stream.flush()
        return None


class SlackSink:
    """Posts alerts with chat.postMessage to one channel."""

    def __init__(self, client: WebClient, channel: str) -> None:
        self._client = client
        self._channel = channel

    @property
    def destination(self) -> str:
        return f"slack:{self._channel}"

    def send(self, alert: Alert) -> str | None:
        try:
            response = self._client.chat_postMessage(
                channel=self._channel,
                text=slack_text(alert),
                mrkdwn=True,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            raise _translate_api_error(exc, self._channel) from exc
        except SlackClientError as exc:
            raise PermanentDeliveryError(f"Slack client refused the request: {exc}") from exc
        except (URLError, OSError, HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise TransientDeliveryError(f"cannot reach Slack: {reason}") from exc
        except (ValueError, LookupError) as exc:
            # An answer that is not Slack's (a proxy's page in an odd charset).
            raise TransientDeliveryError(f"unreadable answer from Slack: {exc}") from exc
        ts = response.get("ts")
        return str(ts) if ts is not None else None


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
        )
    if status >= 500 or error.startswith("Received a response in a non-JSON format"):
        return TransientDeliveryError(
            f"Slack answered HTTP {status}" + (f" ({error[:120]})" if error else "")
        )
    if error in DESTINATION_SLACK_ERRORS:
        return TransientDeliveryError(
            f"Slack refuses posts to {channel}: {error}", needs_attention=True
        )
    if error in MESSAGE_SLACK_ERRORS:
        return PermanentDeliveryError(f"Slack refused the message for {channel}: {error}")
    # An error this code does not know: assume it is about this message, so
    # that it cannot hold up every other alert, and retry it with backoff.
    return TransientDeliveryError(
        f"Slack answered HTTP {status}: {error or 'unknown error'}", whole_destination=False
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
