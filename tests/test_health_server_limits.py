"""/healthz and /metrics under idle-connection floods, and behind a bearer token."""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.server import (
    CONNECTION_DEADLINE,
    IDLE_TIMEOUT,
    MAX_CONNECTIONS,
    TOKEN_ENV,
    HealthServer,
    Metrics,
)
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FeedSpec, write_config
from tests.test_e2e import RunningMonitor, wait_until

SERVER_TOKEN = "health-token-5f2c9d-do-not-log"


def healthy() -> tuple[bool, dict[str, object]]:
    return True, {"reason": None}


@contextlib.contextmanager
def health_server(
    *,
    idle_timeout: float = IDLE_TIMEOUT,
    connection_deadline: float = CONNECTION_DEADLINE,
    max_connections: int = MAX_CONNECTIONS,
    token: str | None = None,
) -> Iterator[HealthServer]:
    server = HealthServer(
        Metrics(),
        healthy,
        port=0,
        idle_timeout=idle_timeout,
        connection_deadline=connection_deadline,
        max_connections=max_connections,
        token=token,
    ).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def idle_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """Connections that are opened and then send nothing at all."""
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(count)]
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed the connection (reading gives EOF or
    an error, perhaps after a 503 it wrote first)."""
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def test_idle_connections_that_send_nothing_are_closed_after_the_idle_timeout() -> None:
    with health_server(idle_timeout=0.5) as server, idle_connections(server.port, 20) as socks:
        for sock in socks:
            # recv waits until the server closes; a connection still open
            # after the socket's generous 30 s timeout fails here.
            assert closed_by_server(sock)


def test_a_client_trickling_its_request_is_cut_off_at_the_connection_deadline() -> None:
    with (
        health_server(idle_timeout=30, connection_deadline=1.0) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock,
    ):
        # One header byte at a time, each well within the idle timeout: only
        # the whole-connection deadline can end it.
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")

        def cut_off() -> bool:
            try:
                sock.sendall(b"X")
                time.sleep(0.1)
            except OSError:
                return True
            return False

        wait_until(cut_off, "the server to cut off the trickling client")


def test_healthz_answers_while_idle_connections_are_open() -> None:
    with health_server(idle_timeout=60) as server, idle_connections(server.port, 20):
        answer = httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=10)
        assert answer.status_code == 200
        assert answer.json()["status"] == "ok"


def test_connections_beyond_the_cap_are_answered_503_and_closed() -> None:
    with (
        health_server(idle_timeout=60, max_connections=5) as server,
        idle_connections(server.port, 5),
    ):
        # The five idle connections hold every slot; each further one is
        # refused at once rather than waiting for a thread.
        refused = httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=10)
        assert refused.status_code == 503
        assert refused.text == "too many connections\r\n"
    with health_server(idle_timeout=60, max_connections=5) as server:
        with idle_connections(server.port, 5):
            pass
        # Once the idle clients have gone, their slots are free again.
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{server.port}/healthz").status_code == 200,
            "/healthz to answer once the slots are free",
        )


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_with_a_token_healthz_and_metrics_ask_for_it(path: str) -> None:
    with health_server(token=SERVER_TOKEN) as server:
        url = f"http://127.0.0.1:{server.port}{path}"
        without = httpx.get(url)
        assert without.status_code == 401
        assert without.headers["WWW-Authenticate"].startswith("Bearer")
        assert SERVER_TOKEN not in without.text
        wrong = httpx.get(url, headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        right = httpx.get(url, headers={"Authorization": f"Bearer {SERVER_TOKEN}"})
        assert right.status_code == 200


def test_livez_stays_open_for_container_healthchecks_with_a_token_set() -> None:
    with health_server(token=SERVER_TOKEN) as server:
        assert httpx.get(f"http://127.0.0.1:{server.port}/livez").status_code == 200


def test_without_a_token_everything_answers_as_before() -> None:
    with health_server() as server:
        for path in ("/healthz", "/metrics", "/livez"):
            assert httpx.get(f"http://127.0.0.1:{server.port}{path}").status_code == 200


@pytest.mark.e2e
def test_monitor_run_takes_the_token_from_the_environment_and_never_logs_it(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_server.set("/a", rss([Entry("Markets", link="https://news.example/m")]))
    config = write_config(tmp_path, [FeedSpec("a", feed_server.url("/a"), interval="1s")])
    monkeypatch.setenv(TOKEN_ENV, SERVER_TOKEN)
    monitor = RunningMonitor(config)
    try:
        monitor.wait_for_log("serving /healthz and /metrics on http://")
        port = re.search(r"serving /healthz and /metrics on http://[\d.]+:(\d+)/", monitor.log)
        assert port is not None
        assert f"bearer token in {TOKEN_ENV}" in monitor.log
        base = f"http://127.0.0.1:{port.group(1)}"
        assert httpx.get(f"{base}/healthz").status_code == 401
        assert (
            httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer wrong"}).status_code
            == 401
        )
        authorized = {"Authorization": f"Bearer {SERVER_TOKEN}"}
        assert httpx.get(f"{base}/healthz", headers=authorized).status_code in (200, 503)
        assert httpx.get(f"{base}/metrics", headers=authorized).status_code == 200
        assert httpx.get(f"{base}/livez").status_code == 200
    finally:
        log = monitor.stop(15)
    assert SERVER_TOKEN not in log
