"""Alerts: the record, the pure policy, rendering, and sinks."""

from monitor.alerts.model import Alert, OutboxEntry
from monitor.alerts.policy import AlertPolicy, Decision, decide, retry_delay
from monitor.alerts.sinks import ConsoleSink, Sink, SlackSink

__all__ = [
    "Alert",
    "AlertPolicy",
    "ConsoleSink",
    "Decision",
    "OutboxEntry",
    "Sink",
    "SlackSink",
    "decide",
    "retry_delay",
]
