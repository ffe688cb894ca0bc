"""Sinks by name: which factory builds the sink a name stands for.

A new sink is a module with a class meeting :class:`~.base.Sink` (and
:class:`~.base.ThreadingSink` if it can address its posts again) and a
factory taking a :class:`~.base.SinkSetup`, registered here under its name.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.delivery.sinks.base import Sink, SinkSetup
from monitor.delivery.sinks.console import console_sink
from monitor.delivery.sinks.slack import slack_sink
from monitor.delivery.sinks.webhook import webhook_sink

SinkFactory = Callable[[SinkSetup], Sink]

_FACTORIES: dict[str, SinkFactory] = {
    "slack": slack_sink,
    "webhook": webhook_sink,
    "console": console_sink,
}


def register_sink(name: str, factory: SinkFactory) -> None:
    """Make ``name`` build its sink with ``factory`` (replacing any before)."""
    _FACTORIES[name] = factory


def sink_names() -> tuple[str, ...]:
    """Every registered sink's name."""
    return tuple(_FACTORIES)


def build_named_sink(name: str, setup: SinkSetup) -> Sink:
    """The sink registered as ``name``, built from ``setup``."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ValueError(f"no sink named {name!r} (known: {', '.join(_FACTORIES)})")
    return factory(setup)
