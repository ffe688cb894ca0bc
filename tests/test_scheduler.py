"""The schedule: timers that never overlap themselves, delivery on its own thread,
polls claimed through the state rather than one job per feed."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.scheduler import build_scheduler, feed_claims, sender_duty
from monitor.wiring import build_monitor
from tests.support.setup import FeedSpec, write_config


def test_jobs_never_overlap_and_delivery_has_its_own_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    feeds = [
        FeedSpec("a", "https://a.example/rss", interval="90s"),
        FeedSpec("b", "https://b.example/rss"),
    ]
    routes = (
        '[[slack.routes]]\nseverities = ["info"]\nchannels = ["#digest"]\ndigest = "30 7 * * 1-5"\n'
    )
    monitor = build_monitor(load_config(write_config(tmp_path, feeds, extra=routes)))
    try:
        scheduler = build_scheduler(
            monitor, feed_claims(monitor, duty := sender_duty(monitor)), duty
        )
        scheduler.start(paused=True)  # job defaults apply once jobs are really added
        jobs = {job.id: job for job in scheduler.get_jobs()}
        scheduler.shutdown(wait=False)
        assert set(jobs) == {
            "claim",
            "heartbeat",
            "deliver",
            "reload-rules",
            "reload-config",
            "prune",
            "digest:#digest:30 7 * * 1-5",
        }
        digest = jobs["digest:#digest:30 7 * * 1-5"]
        assert digest.executor == "delivery"
        assert (
            str(digest.trigger)
            == "cron[month='*', day='*', day_of_week='1-5', hour='7', minute='30']"
        )
        for job in jobs.values():
            assert (job.max_instances, job.coalesce) == (1, True)
        assert jobs["claim"].trigger.interval.total_seconds() == 2, "state.claim_every"
        assert jobs["heartbeat"].trigger.interval.total_seconds() == 15
        assert jobs["deliver"].executor == "delivery"
        assert jobs["claim"].executor == "default"
        assert jobs["reload-rules"].trigger.interval.total_seconds() == 1
    finally:
        monitor.close()


def test_a_schedule_change_that_fails_is_logged_by_name_and_the_rest_still_apply(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import queue
    from functools import partial

    from monitor.scheduler import Requests, _apply

    applied: list[str] = []

    def move(scheduler: object, *, job_id: str) -> None:
        if job_id == "poll:broken":
            raise RuntimeError("no such trigger")
        applied.append(job_id)

    requests: Requests = queue.SimpleQueue()
    for job_id in ("poll:a", "poll:broken", "poll:b"):
        requests.put(partial(move, job_id=job_id))
    _apply(object(), requests)
    assert applied == ["poll:a", "poll:b"]
    assert "could not change the schedule: functools.partial(" in caplog.text
    assert "job_id='poll:broken'" in caplog.text
