"""Starting the web console as ``[web]`` and the environment set it up, or
saying in the log why it does not start (the monitor runs on either way)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from monitor.clock import Clock
from monitor.pipeline.reload import Snapshot
from monitor.settings_web import WebSettings
from monitor.web.app import ConsoleData, create_app
from monitor.web.auth import Credentials, is_loopback, refusal
from monitor.web.server import WebConsoleServer

log = logging.getLogger("monitor.web")


def start_web_console(
    settings: WebSettings,
    data: ConsoleData,
    *,
    clock: Clock,
    snapshot: Callable[[], Snapshot],
    environ: Mapping[str, str],
) -> WebConsoleServer | None:
    """The console serving on ``settings.host``:``settings.port``; None, and
    an ERROR line saying why, when it may not serve there (no credentials
    for an address beyond loopback) or cannot (the port is taken)."""
    credentials = Credentials.from_environ(environ, user=settings.user)
    why = refusal(settings.host, credentials, open_to_all=settings.open)
    if why is not None:
        log.error("not serving the web console: %s; running without it", why)
        return None
    app = create_app(
        data,
        clock=clock,
        snapshot=snapshot,
        credentials=credentials,
        loopback_only=not credentials.required and is_loopback(settings.host),
    )
    try:
        server = WebConsoleServer(app, settings.host, settings.port).start()
    except OSError as exc:
        log.error(
            "cannot serve the web console on %s:%d (%s); running without it",
            settings.host,
            settings.port,
            exc,
        )
        return None
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    log.info(
        "serving the web console on http://%s:%d/ (read-only; it asks for %s)",
        host,
        server.port,
        credentials.describe(),
    )
    return server
