"""The config section of where the state lives ([state]); see monitor.settings."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import field_validator

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

    @field_validator("url")
    @classmethod
    def _postgres_without_password(cls, value: str | None) -> str | None:
        return None if value is None else postgres_url_problem(value)
