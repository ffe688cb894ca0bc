"""A Slack incoming webhook: Block Kit posts to the one channel the webhook
was made for; no threads, edits or message ids."""

from __future__ import annotations

from http.client import HTTPException
from urllib.error import URLError

from slack_sdk.webhook import WebhookClient

from monitor.delivery.message import Message
from monitor.delivery.render import render
from monitor.delivery.sinks.base import OneChannelSink, Posted, SinkSetup
from monitor.delivery.sinks.slack import retry_after
from monitor.errors import PermanentDeliveryError, TransientDeliveryError


def webhook_sink(setup: SinkSetup) -> WebhookSink:
    """The registry's factory: ``setup.secret`` is the webhook's URL."""
    if setup.secret is None:
        raise ValueError("the webhook sink needs the webhook's URL")
    client = WebhookClient(setup.secret, timeout=int(setup.timeout), retry_handlers=[])
    return WebhookSink(client, min_interval=setup.min_interval)


class WebhookSink(OneChannelSink):
    """Posts through an incoming webhook: one fixed channel, no threads or updates."""

    def __init__(self, client: WebhookClient, *, min_interval: float = 1.0) -> None:
        self._client = client
        self.min_interval = min_interval

    @property
    def destination(self) -> str:
        """Always ``slack-webhook``."""
        return "slack-webhook"

    def post(self, channel: str, message: Message) -> Posted:
        """Post to the webhook's channel (``channel`` is not the webhook's to choose)."""
        payload = render(message)
        try:
            response = self._client.send(
                text=payload.text, blocks=payload.blocks, unfurl_links=False
            )
        except (URLError, OSError, HTTPException, ValueError) as exc:
            raise TransientDeliveryError(f"cannot reach the Slack webhook: {exc}") from exc
        # WebhookClient never raises on an HTTP error status: check it here.
        if response.status_code == 429:
            raise TransientDeliveryError(
                "Slack webhook rate limit",
                retry_after=retry_after(response.headers),
                scope="channel",
            )
        if response.status_code >= 500:
            raise TransientDeliveryError(f"Slack webhook answered HTTP {response.status_code}")
        if response.status_code != 200 or response.body != "ok":
            raise PermanentDeliveryError(
                "Slack webhook refused the message: "
                f"HTTP {response.status_code} {str(response.body)[:100]}"
            )
        return Posted()
