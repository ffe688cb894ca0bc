"""Interactivity set up from the environment: the signing secret, and the
sink and the endpoint it turns on."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime

from monitor.delivery.sinks.base import Sink, ThreadingSink
from monitor.interactivity.handler import ActionStore, SlackActions
from monitor.interactivity.sink import ButtonSink

log = logging.getLogger("monitor")

SIGNING_SECRET_ENV = "SLACK_SIGNING_SECRET"  # noqa: S105 - the variable's name, not a secret
"""Where the Slack app's signing secret is read from (never from config.toml)."""
ACTIONS_PATH = "/slack/actions"
"""The path Slack's interactivity requests are posted to (the app's Request URL)."""


def signing_secret() -> str | None:
    """The Slack app's signing secret from the environment; None: no buttons."""
    return os.environ.get(SIGNING_SECRET_ENV, "").strip() or None


def interactive(
    sink: Sink, store: ActionStore, clock: Callable[[], datetime], secret: str | None
) -> tuple[Sink, SlackActions | None]:
    """The sink to deliver through and the endpoint's handler: with a
    signing secret and Slack's Web API, alert posts carry buttons and the
    handler applies their clicks; otherwise ``sink`` as it is, and None."""
    if secret is None:
        return sink, None
    if not isinstance(sink, ThreadingSink):
        log.warning(
            "%s is set, but alerts are not posted through Slack's Web API "
            "(SLACK_BOT_TOKEN is not set): alerts carry no buttons",
            SIGNING_SECRET_ENV,
        )
        return sink, None
    buttons = ButtonSink(sink, store)
    return buttons, SlackActions(secret=secret, store=store, sink=buttons, clock=clock)
