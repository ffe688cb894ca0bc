"""`monitor run` and `monitor once`: the monitor itself, until stopped or for one pass."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType

from monitor.commands.console import Console, ExitCode
from monitor.config import LoadedConfig
from monitor.delivery.slack_check import TokenRejected
from monitor.pipeline.feed_health import counted
from monitor.wiring import build_monitor

LEGACY_CONFIG_DIR_ENV = "MONITOR_LEGACY_CONFIG_DIR"
"""Set by the container image: where images before it read config.toml and rules/."""


def legacy_config_notice(config_path: Path) -> str | None:
    """Why not to start, when a config or rules are mounted where an older
    image read them but the config in use is elsewhere: the monitor would
    run the image's bundled feeds and rules, and the desk would not know."""
    written = os.environ.get(LEGACY_CONFIG_DIR_ENV, "").strip()
    if not written:
        return None
    legacy_dir = Path(written)
    if config_path.resolve().is_relative_to(legacy_dir.resolve()):
        return None  # the config in use is the one mounted there: it is read
    found = [path for path in (legacy_dir / "config.toml", legacy_dir / "rules") if path.exists()]
    if not found:
        return None
    return (
        f"monitor: not starting: {' and '.join(map(str, found))} "
        f"{'is' if len(found) == 1 else 'are'} where older images read the config and rules, "
        f"but this one reads {config_path}: it would watch its bundled feeds, not yours. "
        f"Mount the directory holding your config.toml and rules/ on {config_path.parent} "
        'instead (README.md, "Upgrading from an image that read /app/config.toml").'
    )


def run(loaded: LoadedConfig, *, new_state: bool, console: Console) -> ExitCode:
    """Poll and deliver on the schedule until SIGINT or SIGTERM; SIGHUP reloads."""
    # Imported here: only `run` needs APScheduler, and the other commands start faster without it.
    from monitor.scheduler import run_until_stopped

    monitor = build_monitor(loaded, new_state=new_state)
    if isinstance(rejected := monitor.check_token(), TokenRejected):
        monitor.close()
        console.warn(f"monitor: not starting: {rejected} (monitor slack-test checks it)")
        return ExitCode.UNUSABLE
    stop = threading.Event()
    reload = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    def request_reload(signum: int, frame: FrameType | None) -> None:
        reload.set()  # the loop reloads; a signal handler must not do the work

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    if hasattr(signal, "SIGHUP"):  # not on Windows
        signal.signal(signal.SIGHUP, request_reload)
    try:
        run_until_stopped(monitor, stop, reload)
    finally:
        monitor.close()
    return ExitCode.OK


def once(loaded: LoadedConfig, *, new_state: bool, console: Console) -> ExitCode:
    """Poll every feed once, deliver what is due, prune, and say how it went."""
    monitor = build_monitor(loaded, new_state=new_state)
    try:
        if isinstance(rejected := monitor.check_token(), TokenRejected):
            # Poll all the same: the alerts wait in the outbox for a good token.
            monitor.hold_delivery(rejected)
        monitor.backfill()  # rules changed since the last run see what it read
        reports = monitor.poll_all()
        delivery = monitor.deliver_due()
        counts = monitor.store.outbox_counts()
        monitor.prune()  # run from cron, `once` is the only thing that prunes
    finally:
        monitor.close()
    failed = [r for r in reports if not r.ok]
    read = len(reports) - len(failed)
    alerts = sum(r.alerts for r in reports)
    console.say(
        f"polled {counted(len(reports), 'feed')}: {read} read, {len(failed)} failed; "
        f"{counted(alerts, 'new alert')}; delivered {delivery.sent}; "
        f"outbox: {counts['pending'] + counts['sending']} pending, {counts['failed']} failed"
    )
    if failed:
        console.warn("feeds that failed:")
        for report in failed:
            assert report.error is not None
            console.warn(f"  {report.feed}: {report.error.kind}: {report.error}")
    waiting = counts["pending"] + counts["sending"]
    if waiting or counts["failed"]:
        # Not a failure of this run: the outbox keeps them and delivers on the
        # next run, but whoever runs `once` from cron should see it.
        console.warn(
            f"outbox: {waiting} alerts waiting for delivery, {counts['failed']} failed "
            "(see the log above)"
        )
    if monitor.token_hold is not None:
        return ExitCode.DELIVERY_HELD
    return ExitCode.PROBLEMS if failed else ExitCode.OK
