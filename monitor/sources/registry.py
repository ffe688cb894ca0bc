"""Sources by a feed's ``type``: where a new kind of source plugs in.

A feed's ``type`` in config.toml (default ``rss``) names one of
:data:`SOURCE_TYPES`; the config is checked against these names when it
loads. To add a source: write a class with the :class:`~monitor.sources.base.Source`
methods, and a factory building it from the :class:`SharedParts`, and list
the factory here under its type name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the config reads the type names; loading a source waits for its use
    from monitor.sources.base import Source
    from monitor.sources.http import Fetcher, FetchLimits
    from monitor.sources.parser_pool import ParserPool

DEFAULT_TYPE = "rss"


@dataclass(frozen=True)
class SharedParts:
    """What every source of one monitor shares; the monitor closes them."""

    fetcher: Fetcher
    parser: ParserPool
    limits: FetchLimits | None = None
    """The limits ``fetcher`` applies, for a source that reads otherwise
    (None: the defaults)."""


SourceFactory = Callable[[SharedParts], "Source"]


def _rss(parts: SharedParts) -> Source:
    from monitor.sources.rss_source import RssSource

    return RssSource(parts.fetcher, parts.parser)


SOURCE_TYPES: Mapping[str, SourceFactory] = MappingProxyType({"rss": _rss})
"""Every feed type the monitor reads, with the factory of its source."""


def build_sources(parts: SharedParts) -> dict[str, Source]:
    """One source of every type, built from ``parts``."""
    return {name: factory(parts) for name, factory in SOURCE_TYPES.items()}
