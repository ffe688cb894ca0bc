"""/healthz says whether the instance reaches its state database: over real
HTTP, with a SQLite file deleted under the monitor and a real PostgreSQL
server cut off and frozen behind a loopback relay. A desk whose database
does not answer keeps nothing of what it reads and sends: 503, naming it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import httpx
import psycopg
import pytest

from monitor.app import Monitor
from monitor.config import load_config
from monitor.pipeline.desk_health import DeskStatus, desk_health
from monitor.server import HealthServer
from monitor.wiring import build_monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import rss
from tests.support.postgres import (
    create_schema,
    drop_schema,
    postgres_url,
    require_server,
    schema_name,
)
from tests.support.setup import FakeClock, FeedSpec, write_config
from tests.support.tcp_relay import TcpRelay

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_database_that_does_not_answer_makes_the_desk_unhealthy_whatever_the_feeds() -> None:
    problem = "cannot reach the state database postgresql://db:5432/desk: Connection refused"
    verdict = desk_health(
        ["a"],
        None,
        now=NOW,
        started_at=NOW - timedelta(minutes=5),
        last_success=NOW - timedelta(seconds=10),
        failing_after=timedelta(hours=1),
        scheduler_problem=None,
        database_problem=problem,
    )
    assert (verdict.status, verdict.reason, verdict.healthy) == (
        DeskStatus.UNHEALTHY,
        problem,
        False,
    )
    assert verdict.body["database"] == {"reachable": False, "problem": problem}

    answering = desk_health(
        ["a"],
        {},
        now=NOW,
        started_at=NOW,
        last_success=None,
        failing_after=timedelta(hours=1),
        scheduler_problem=None,
    )
    assert answering.body["database"] == {"reachable": True, "problem": None}


class ServeDesk(Protocol):
    """A monitor with its /healthz served, its [state] given more keys; its /healthz URL."""

    def __call__(self, state_extra: str = "") -> tuple[Monitor, str]: ...


@pytest.fixture
def serve(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServeDesk]:
    """Serves /healthz of a monitor on one loopback feed, its state where
    the test says; stopped after the test."""
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    feed_server.set("/a", rss([]))
    opened: list[tuple[Monitor, HealthServer]] = []

    def serve_(state_extra: str = "") -> tuple[Monitor, str]:
        config = write_config(
            tmp_path, [FeedSpec("a", feed_server.url("/a"))], state_extra=state_extra
        )
        monitor = build_monitor(load_config(config), clock=FakeClock())
        monitor.scheduler_running = True
        server = HealthServer(monitor.metrics, monitor.health, port=0).start()
        opened.append((monitor, server))
        return monitor, f"http://127.0.0.1:{server.port}/healthz"

    yield serve_
    for monitor, server in opened:
        server.stop()
        monitor.close()


def test_healthz_answers_503_when_the_sqlite_state_is_deleted_under_the_monitor(
    serve: ServeDesk, tmp_path: Path
) -> None:
    monitor, url = serve()
    monitor.poll_all()
    answer = httpx.get(url)
    assert (answer.status_code, answer.json()["status"]) == (200, "ok")
    assert answer.json()["database"] == {"reachable": True, "problem": None}

    database = tmp_path / "state" / "monitor.db"
    database.unlink()
    answer = httpx.get(url)
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unhealthy"
    assert body["database"]["reachable"] is False
    assert f"the state database {str(database)!r} is gone" in body["reason"]
    assert body["database"]["problem"] in body["reason"]


@pytest.fixture
def relay() -> Iterator[TcpRelay]:
    """A relay to the test server that the test can cut off or freeze."""
    require_server()
    info = psycopg.conninfo.conninfo_to_dict(postgres_url())
    with TcpRelay((str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432))) as relay:
        yield relay


@pytest.fixture
def relayed_state(relay: TcpRelay, tmp_path: Path) -> Iterator[str]:
    """state.url of a schema of the test's own, reached through ``relay``."""
    name = schema_name(str(tmp_path))
    drop_schema(name)
    options = create_schema(name).partition("?")[2]
    dbname = psycopg.conninfo.conninfo_to_dict(postgres_url()).get("dbname") or "test"
    yield relay.url(str(dbname), options)
    drop_schema(name)


def test_healthz_answers_503_naming_the_postgres_database_while_it_is_cut_off_or_frozen(
    serve: ServeDesk, relay: TcpRelay, relayed_state: str
) -> None:
    monitor, url = serve(f'url = "{relayed_state}"')
    monitor.poll_all()
    answer = httpx.get(url)
    assert (answer.status_code, answer.json()["status"]) == (200, "ok")
    assert answer.json()["database"] == {"reachable": True, "problem": None}
    where = f"postgresql://127.0.0.1:{relay.port}/"

    relay.stop()
    answer = httpx.get(url)
    assert answer.status_code == 503
    body = answer.json()
    assert body["database"]["reachable"] is False
    assert body["reason"].startswith(f"cannot reach the state database {where}"), body
    assert "Connection refused" in body["reason"]

    relay.start()
    answer = httpx.get(url)
    assert (answer.status_code, answer.json()["database"]["reachable"]) == (200, True), (
        "healthy again as soon as the server answers"
    )

    relay.freeze()
    try:
        answer = httpx.get(url, timeout=30)
    finally:
        relay.thaw()
    assert answer.status_code == 503, "a server that holds every answer is no answer"
    assert answer.json()["reason"].startswith(f"the state database {where}"), answer.json()
    assert "has not answered for" in answer.json()["reason"]
