"""`monitor run`'s own loop (the real scheduler and health server) on a
thread inside pytest, with a switch that breaks the scheduler's loop the way
an error APScheduler does not catch would."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.app import Monitor
from monitor.config import load_config
from monitor.scheduler import run_until_stopped
from monitor.wiring import build_monitor
from tests.test_e2e import wait_until


@dataclass
class RunLoop:
    monitor: Monitor
    base_url: str
    """The health server's address, as `monitor run` logged it."""
    _die: threading.Event

    def kill_scheduler(self) -> None:
        """The loop dies when it next wakes (within a second for 1 s feeds)."""
        self._die.set()


@contextmanager
def monitor_run_in_thread(
    config: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[RunLoop]:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    caplog.set_level(logging.INFO, logger="monitor")
    # No parser processes: the loop runs inside pytest.
    config.write_text(config.read_text().replace("[fetch]\n", "[fetch]\nparse_processes = 0\n"))
    monitor = build_monitor(load_config(config))
    die = threading.Event()
    process_jobs = BackgroundScheduler._process_jobs

    def process_jobs_until_told_to_die(self: BackgroundScheduler) -> float | None:
        if die.is_set():
            raise RuntimeError("scheduler loop broken")
        result: float | None = process_jobs(self)
        return result

    monkeypatch.setattr(BackgroundScheduler, "_process_jobs", process_jobs_until_told_to_die)
    stop = threading.Event()
    runner = threading.Thread(target=run_until_stopped, args=(monitor, stop), daemon=True)
    runner.start()
    try:
        wait_until(lambda: "serving /healthz" in caplog.text, "the health server")
        port = re.search(r"serving /healthz and /metrics on http://[\d.]+:(\d+)/", caplog.text)
        assert port is not None
        yield RunLoop(monitor, f"http://127.0.0.1:{port.group(1)}", die)
    finally:
        stop.set()
        runner.join(timeout=30)
        monitor.close()
