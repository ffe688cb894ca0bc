"""The config section of where the state lives ([state]); see monitor.settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import field_validator

from monitor.units import Duration
from monitor.validation import StrictModel


def postgres_url_problem(url: str) -> str:
    """``url`` when it names a PostgreSQL database without a password; else
    a ValueError saying what to write."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(
            f"state.url must be a PostgreSQL URL (postgresql://user@host:5432/name), not {parts.scheme or url!r}"
        )
    if parts.password is not None or "password=" in parts.query:
        raise ValueError(
            "state.url must not hold the password: set it in the environment "
            "(PGPASSWORD) or in a password file (PGPASSFILE), never in config.toml"
        )
    return url


class StateSettings(StrictModel):
    """[state]: where the state database lives."""

    path: Path = Path("state/monitor.db")
    url: str | None = None
    """A PostgreSQL database (``postgresql://user@host:5432/name``) instead
    of the SQLite file at ``path``: the state several instances share. The
    password comes from the environment (PGPASSWORD), never from the file."""
    feed_lease: Duration = timedelta(minutes=2)
    """How long a feed claimed for a poll is this instance's alone; renewed
    while the poll runs, released when its outcome is stored. An instance
    that dies holds its feeds until then (a dead process of the same host:
    not at all)."""
    claim_every: Duration = timedelta(seconds=2)
    """How often an instance asks the state for the feeds now due."""
    heartbeat_every: Duration = timedelta(seconds=15)
    """How often an instance records that it is alive (``monitor status``)."""
    sender_lease: Duration = timedelta(seconds=30)
    """How long the instance sending alerts and digests keeps the duty
    without renewing it; another takes it over after that."""

    @field_validator("feed_lease", "sender_lease")
    @classmethod
    def _long_enough_to_renew(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=10):
            raise ValueError("must be at least 10s: it is renewed a few times within its length")
        return value

    @field_validator("claim_every", "heartbeat_every")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(milliseconds=100):
            raise ValueError("must be at least 100ms")
        return value

    @field_validator("url")
    @classmethod
    def _postgres_without_password(cls, value: str | None) -> str | None:
        return None if value is None else postgres_url_problem(value)
