"""How loud an alert is."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    def lowered(self) -> Severity:
        return _ORDER[max(0, self.rank - 1)]


_ORDER = (Severity.INFO, Severity.WARNING, Severity.CRITICAL)
