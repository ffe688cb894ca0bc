"""What every source of one monitor shares (see :mod:`monitor.sources.registry`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the config reads the type names; loading a source waits for its use
    from monitor.sources.http import Fetcher, FetchLimits
    from monitor.sources.parser_pool import ParserPool


@dataclass(frozen=True)
class SharedParts:
    """What every source of one monitor shares; the monitor closes them."""

    fetcher: Fetcher
    parser: ParserPool
    limits: FetchLimits | None = None
    """The limits ``fetcher`` applies, for a source that reads otherwise
    (None: the defaults)."""
