"""Sources by a feed's ``type``: where a new kind of source plugs in.

A feed's ``type`` in config.toml (default ``rss``) names one of
:data:`SOURCE_TYPES`; the config is checked against these names when it
loads. To add a source: write a class with the :class:`~monitor.sources.base.Source`
methods, and a factory building it from the :class:`SharedParts`, and list
the factory here under its type name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from monitor.sources.parts import (
    SharedParts as SharedParts,
)  # re-exported: sources' factories take it

if TYPE_CHECKING:  # the config reads the type names; loading a source waits for its use
    from monitor.sources.base import Source

DEFAULT_TYPE = "rss"

LIST_TYPES = frozenset({"ofac-sdn", "uk-sanctions-list", "eu-fsf", "un-sc", "trade-csl"})
"""Types whose source reads an official list whole (a ListDocument), not items."""

PROBING_TYPES = frozenset({"ofac-sdn", "eu-fsf"})
"""Types whose source asks a feed's ``probe_url`` first (see FeedSettings.probe_url)."""


SourceFactory = Callable[[SharedParts], "Source"]


def _rss(parts: SharedParts) -> Source:
    from monitor.sources.rss_source import RssSource

    return RssSource(parts.fetcher, parts.parser)


def _ofac_sdn(parts: SharedParts) -> Source:
    from monitor.sources.ofac_source import build_source

    return build_source(parts)


def _uk_sanctions_list(parts: SharedParts) -> Source:
    from monitor.sources.uk_sanctions import build_source

    return build_source(parts)


def _eu_fsf(parts: SharedParts) -> Source:
    from monitor.sources.eu_fsf import build_source

    return build_source(parts)


def _un_sc(parts: SharedParts) -> Source:
    from monitor.sources.un_sc import build_source

    return build_source(parts)


def _trade_csl(parts: SharedParts) -> Source:
    from monitor.sources.trade_csl import build_source

    return build_source(parts)


def _federal_register(parts: SharedParts) -> Source:
    from monitor.sources.federal_register import build_source

    return build_source(parts)


SOURCE_TYPES: Mapping[str, SourceFactory] = MappingProxyType(
    {
        "rss": _rss,
        "ofac-sdn": _ofac_sdn,
        "uk-sanctions-list": _uk_sanctions_list,
        "eu-fsf": _eu_fsf,
        "un-sc": _un_sc,
        "trade-csl": _trade_csl,
        "federal-register": _federal_register,
    }
)
"""Every feed type the monitor reads, with the factory of its source."""


def build_sources(parts: SharedParts) -> dict[str, Source]:
    """One source of every type, built from ``parts``."""
    return {name: factory(parts) for name, factory in SOURCE_TYPES.items()}
