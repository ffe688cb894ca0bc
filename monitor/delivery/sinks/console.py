"""The console: one line per message, the sink when no Slack is set up."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from monitor.delivery.message import AlertPost, Digest, Message, Notice, RollUp, truncate
from monitor.delivery.render import mention_text
from monitor.delivery.sinks.base import Posted, SinkSetup


def console_sink(setup: SinkSetup) -> ConsoleSink:
    """The registry's factory."""
    return ConsoleSink(setup.console)


def console_line(alert: AlertPost, channel: str | None = None) -> str:
    """One readable line per alert for a terminal or a log file."""
    when = alert.published.strftime("%Y-%m-%dT%H:%MZ") if alert.published else "-"
    link = alert.link or "(no link)"
    where = f" -> {channel}" if channel else ""
    publisher = alert.shown_publisher
    source = f"{publisher} via {alert.feed}" if publisher else alert.feed
    backfill = f" (backfill: read {alert.backfill_of:%Y-%m-%dT%H:%MZ})" if alert.backfill_of else ""
    return (
        f"ALERT {alert.severity.value.upper():<8} {alert.rule_id}{backfill} [{source}] {when} "
        f"{truncate(alert.title, 200)} <{link}>{where}"
    )


def summary_line(message: RollUp | Digest | Notice, channel: str) -> str:
    """One line for a message that is not one alert."""
    if isinstance(message, RollUp):
        # The mentions as Slack would notify them: the console stands in for Slack.
        mentions = mention_text(message.mentions)
        text = f"{mentions} {message.heading}" if mentions else message.heading
    elif isinstance(message, Digest):
        text = message.heading
    else:
        text = message.text
    return f"{text} -> {channel}"


class ConsoleSink:
    """Prints one line per message; no threads, every channel named in the line."""

    min_interval = 0.0

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    @property
    def destination(self) -> str:
        """Always ``console``."""
        return "console"

    def post(self, channel: str, message: Message) -> Posted:
        """Print the message's line, naming the channel."""
        if isinstance(message, AlertPost):
            line = console_line(message, channel)
        else:
            line = summary_line(message, channel)
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(line + "\n")
            stream.flush()
        return Posted()
