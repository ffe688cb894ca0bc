"""The config section of the read-only web console ([web]); see monitor.settings."""

from __future__ import annotations

from pydantic import Field

from monitor.validation import StrictModel


class WebSettings(StrictModel):
    """[web]: the read-only web console, served by ``monitor run`` (see README, Web console)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9109, ge=0, le=65535)
    """0 picks a free port (it is logged)."""
    user: str = Field(default="monitor", min_length=1, max_length=64, pattern=r"^[^:\s]+$")
    """The user name a browser gives with MONITOR_WEB_PASSWORD (HTTP basic auth;
    a colon cannot be part of it)."""
    open: bool = False
    """Serve an address other than loopback without MONITOR_WEB_TOKEN or
    MONITOR_WEB_PASSWORD: anyone who reaches it reads the console."""
