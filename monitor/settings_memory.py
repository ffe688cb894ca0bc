"""The config sections of what the monitor remembers across items: stories
([stories]) and the item archive ([archive]); see monitor.settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, field_validator

from monitor.domain.severity import Severity
from monitor.units import Duration
from monitor.validation import StrictModel

Tag = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]
"""A feed tag, as feeds and sections name them."""


class StoriesSettings(StrictModel):
    """[stories]: one event across feeds is one story (see README, Stories)."""

    hold: dict[Severity, Duration] = Field(
        default_factory=lambda: {
            Severity.WARNING: timedelta(minutes=3),
            Severity.INFO: timedelta(minutes=10),
        }
    )
    """How long a new story of each severity waits for more sources before it
    is posted; a critical one never waits."""
    official_tags: tuple[Tag, ...] = ("sanctions",)
    """Feeds with one of these tags carry official notices: their word
    confirms a story (see a rule's ``escalate: {official: true}``)."""

    @field_validator("hold")
    @classmethod
    def _critical_never_waits(cls, value: dict[Severity, timedelta]) -> dict[Severity, timedelta]:
        if value.get(Severity.CRITICAL):
            raise ValueError("a critical alert is never held: leave critical out of stories.hold")
        return value

    def hold_for(self, severity: Severity) -> timedelta:
        """How long a new story of ``severity`` waits before it is posted."""
        return self.hold.get(severity, timedelta(0))


class ArchiveSettings(StrictModel):
    """[archive]: each new item's text, kept for search and backtests."""

    enabled: bool = True
    retention: Duration = Field(default=timedelta(days=30), gt=timedelta(0))
