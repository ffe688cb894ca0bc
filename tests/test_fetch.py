"""Fetching over real HTTP on loopback: what each failure looks like to the user."""

from __future__ import annotations

import contextlib
import gzip
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from monitor.domain.feed import Validators
from monitor.errors import FetchError
from monitor.sources.connections import Deadline
from monitor.sources.http import FetchLimits, HttpFetcher
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss

BODY = rss([Entry("Item", link="https://news.example/1")])


def fetcher(**limits: Any) -> HttpFetcher:
    default = FetchLimits(timeout=2.0, connect_timeout=2.0, max_redirects=3)
    return HttpFetcher(replace(default, **limits))


def failure(server_url: str, **limits: object) -> FetchError:
    with fetcher(**limits) as client, pytest.raises(FetchError) as caught:
        client.fetch(server_url)
    return caught.value


def test_200_returns_body_headers_and_validators(feed_server: FeedServer) -> None:
    feed_server.set("/feed", BODY, etag='"v1"', last_modified="Tue, 01 Dec 2026 10:00:00 GMT")
    with fetcher() as client:
        result = client.fetch(feed_server.url("/feed"))
    assert result.status == 200 and result.body == BODY.encode()
    assert result.validators == Validators('"v1"', "Tue, 01 Dec 2026 10:00:00 GMT")
    assert result.headers["content-type"].startswith("application/rss+xml")
    (request,) = feed_server.requests
    assert request.headers["user-agent"].startswith("watchdesk-monitor")


def test_conditional_get_sends_validators_and_understands_304(feed_server: FeedServer) -> None:
    feed_server.set("/feed", BODY, etag='"v1"')
    with fetcher() as client:
        first = client.fetch(feed_server.url("/feed"))
        second = client.fetch(feed_server.url("/feed"), first.validators)
    assert second.not_modified and second.status == 304
    assert feed_server.requests[1].headers["if-none-match"] == '"v1"'


def test_last_modified_alone_gives_304(feed_server: FeedServer) -> None:
    stamp = "Tue, 01 Dec 2026 10:00:00 GMT"
    feed_server.set("/feed", BODY, last_modified=stamp)
    with fetcher() as client:
        result = client.fetch(feed_server.url("/feed"), Validators(last_modified=stamp))
    assert result.not_modified


def test_gzip_body_is_decoded(feed_server: FeedServer) -> None:
    feed_server.set("/feed", BODY, gzip=True)
    with fetcher() as client:
        assert client.fetch(feed_server.url("/feed")).body == BODY.encode()
    assert "gzip" in feed_server.requests[0].headers["accept-encoding"]


def test_redirect_is_followed_and_final_url_reported(feed_server: FeedServer) -> None:
    feed_server.set("/new", BODY)
    feed_server.redirect("/old", "/new")
    with fetcher() as client:
        result = client.fetch(feed_server.url("/old"))
    assert result.url == feed_server.url("/new") and result.body == BODY.encode()


def test_redirect_loop_is_bounded(feed_server: FeedServer) -> None:
    feed_server.redirect("/a", "/b")
    feed_server.redirect("/b", "/a")
    error = failure(feed_server.url("/a"))
    assert (error.kind, str(error)) == ("redirects", "more than 3 redirects")


@pytest.mark.parametrize(
    ("status", "text"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error")]
)
def test_http_errors_name_the_status(feed_server: FeedServer, status: int, text: str) -> None:
    feed_server.set("/feed", "oops", status=status)
    error = failure(feed_server.url("/feed"))
    assert (error.kind, str(error)) == ("http", text)


def test_429_shows_retry_after(feed_server: FeedServer) -> None:
    feed_server.set("/feed", "slow down", status=429, headers={"Retry-After": "120"})
    assert str(failure(feed_server.url("/feed"))) == "HTTP 429 Too Many Requests (Retry-After: 120)"


def test_slow_server_times_out(feed_server: FeedServer) -> None:
    feed_server.set("/feed", BODY, delay=5.0)
    error = failure(feed_server.url("/feed"), timeout=0.3)
    assert error.kind == "timeout"
    assert str(error) == "127.0.0.1 did not deliver the feed within 0.3s"


@contextlib.contextmanager
def dripping_server(
    head: bytes,
    pieces: Iterable[bytes],
    tls: ssl.SSLContext | None = None,
    requests: int = 1,
    heard: list[bytes] | None = None,
) -> Iterator[tuple[str, threading.Event]]:
    """A server on loopback that answers with ``head`` at once, then sends
    each of ``pieces`` 50 ms apart, each well within any read timeout: only a
    whole-fetch deadline can stop it. With ``requests=2``, ``head`` is a whole
    answer to a first request, and the dripping answers the second one on the
    same connection. Each request it reads is added to ``heard``. Yields its
    address (host:port) and an event set once it has sent every piece: a
    client cut off at its deadline hangs up before."""
    stop = threading.Event()
    finished = threading.Event()

    def drip(listener: socket.socket) -> None:
        raw, _ = listener.accept()
        with tls.wrap_socket(raw, server_side=True) if tls else raw as connection:
            try:
                for answer in [head] + [b""] * (requests - 1):
                    request = connection.recv(65536)
                    if heard is not None:
                        heard.append(request)
                    connection.sendall(answer)
            except OSError:
                return
            for piece in pieces:
                if stop.wait(0.05):
                    return
                try:
                    connection.send(piece)
                except OSError:
                    return
            finished.set()

    with raw_server(drip, stop=stop.set) as address:
        yield address, finished


@contextlib.contextmanager
def raw_server(
    serve: Callable[[socket.socket], None], stop: Callable[[], None] | None = None
) -> Iterator[str]:
    """Run ``serve`` on a thread with a listening loopback socket; yields its
    address (host:port). On the way out: ``stop`` (by default, close the
    listener, which ends a pending accept), then wait for the thread."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    server = threading.Thread(target=serve, args=(listener,), daemon=True)
    server.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        (stop or listener.close)()
        server.join(timeout=5)
        listener.close()


def one_byte_at_a_time(data: bytes) -> list[bytes]:
    return [bytes([byte]) for byte in data]


DRIPPED_HEADERS = b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 200
CUT_OFF = ("timeout", "127.0.0.1 did not deliver the feed within 1s")


def test_a_server_dripping_its_headers_is_cut_off_at_the_deadline() -> None:
    with dripping_server(b"", one_byte_at_a_time(DRIPPED_HEADERS)) as (address, finished):
        error = failure(f"http://{address}/feed", timeout=1.0)
        assert not finished.is_set()
    assert (error.kind, str(error)) == CUT_OFF


@pytest.mark.parametrize("length", [b"Content-Length: 1000\r\n", b"Transfer-Encoding: chunked\r\n"])
def test_a_server_dripping_its_body_is_cut_off_at_the_deadline(length: bytes) -> None:
    # Read at once when its length is declared, streamed when it is not: both stop.
    piece = b"1\r\nx\r\n" if b"chunked" in length else b"x"
    head = b"HTTP/1.1 200 OK\r\n" + length + b"\r\n"
    with dripping_server(head, [piece] * 1000) as (address, finished):
        error = failure(f"http://{address}/feed", timeout=1.0)
        assert not finished.is_set()
    assert (error.kind, str(error)) == CUT_OFF


def test_a_malformed_redirect_is_a_clear_error_for_that_feed(feed_server: FeedServer) -> None:
    feed_server.redirect("/feed", "http://[::1/x")
    error = failure(feed_server.url("/feed"))
    assert (error.kind, str(error)) == (
        "redirects",
        "127.0.0.1 redirected to an invalid URL: 'http://[::1/x' (Invalid IPv6 URL)",
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1/feed", "Invalid IPv6 URL"),
        ("http://feeds.example:80a/rss", "Port could not be cast to integer value as '80a'"),
        ("ftp://feeds.example/rss", "not an http(s) URL with a host"),
        ("https:///rss", "not an http(s) URL with a host"),
    ],
)
def test_a_malformed_feed_url_is_a_clear_error(url: str, reason: str) -> None:
    error = failure(url)
    assert (error.kind, str(error)) == ("url", f"invalid feed URL {url!r}: {reason}")


def test_oversized_body_with_content_length_is_refused_before_reading(
    feed_server: FeedServer,
) -> None:
    feed_server.set("/feed", b"x" * 5000)
    error = failure(feed_server.url("/feed"), max_bytes=1000)
    assert error.kind == "too-large"
    assert str(error) == "feed exceeds the size limit of 1,000 bytes: it declares 5,000 bytes"


def test_oversized_stream_without_content_length_is_cut_off(feed_server: FeedServer) -> None:
    feed_server.set_stream("/feed", b"y" * 1000, count=50)
    error = failure(feed_server.url("/feed"), max_bytes=10_000)
    assert str(error) == "feed exceeds the size limit of 10,000 bytes: the body is larger"


def test_gzip_bomb_is_capped_on_decoded_size(feed_server: FeedServer) -> None:
    bomb = b"<" + b" " * 200_000
    assert len(gzip.compress(bomb)) < 10_000
    feed_server.set("/feed", bomb, gzip=True)
    assert failure(feed_server.url("/feed"), max_bytes=50_000).kind == "too-large"


def test_connection_refused_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failure(f"http://127.0.0.1:{port}/feed")
    assert error.kind == "connect" and str(error).startswith("cannot connect to 127.0.0.1")


def test_dns_failure_is_named_as_such() -> None:
    # A resolver stands in for DNS: tests never make real DNS queries.
    def no_such_host(host: str) -> str:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    client = HttpFetcher(FetchLimits(), resolver=no_such_host)
    with client, pytest.raises(FetchError) as caught:
        client.fetch("https://feeds.example.org/rss")
    assert (caught.value.kind, str(caught.value)) == (
        "dns",
        "cannot resolve host feeds.example.org (DNS lookup failed)",
    )


def test_the_resolver_seam_reaches_the_real_server(feed_server: FeedServer) -> None:
    feed_server.set("/feed", BODY)
    port = feed_server.url("/feed").split(":")[2].split("/")[0]
    client = HttpFetcher(FetchLimits(), resolver=lambda host: "127.0.0.1")
    with client:
        result = client.fetch(f"http://feeds.example.org:{port}/feed")
    assert result.body == BODY.encode()
    assert feed_server.requests[0].headers["host"] == f"feeds.example.org:{port}"


def test_local_files_are_feeds_too(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(BODY, encoding="utf-8")
    with fetcher() as client:
        assert client.fetch(str(path)).body == BODY.encode()
        assert client.fetch(path.as_uri()).body == BODY.encode()
        with pytest.raises(FetchError, match="cannot read file") as caught:
            client.fetch(str(tmp_path / "missing.xml"))
    assert caught.value.kind == "file"


def test_a_bot_wall_is_reported_as_such(feed_server: FeedServer) -> None:
    page = "<html><head><title>Just a moment...</title></head><body>cf-chl challenge</body></html>"
    feed_server.set("/feed", page, status=403, content_type="text/html")
    error = failure(feed_server.url("/feed"))
    assert (error.kind, str(error)) == (
        "blocked",
        "HTTP 403 Forbidden: the site's bot protection answered with a challenge page instead of the feed",
    )
    feed_server.set("/plain", "forbidden", status=403)
    assert failure(feed_server.url("/plain")).kind == "http"


def test_one_host_gets_at_most_per_host_requests_at_once(feed_server: FeedServer) -> None:
    for n in range(6):
        feed_server.set(f"/feed{n}", BODY, delay=0.3)
    with fetcher(per_host=2) as client, ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda n: client.fetch(feed_server.url(f"/feed{n}")), range(6)))
    assert all(r.body == BODY.encode() for r in results)
    assert feed_server.max_concurrent() == 2


# --- HTTPS, against a certificate authority made for the test -----------------------


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@contextlib.contextmanager
def answering_server(
    body: bytes,
    seen: Callable[[BaseHTTPRequestHandler], None] = lambda request: None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[int]:
    """A server on loopback (HTTP/1.1: it keeps connections open) that
    answers every GET with ``body`` and shows each request to ``seen``.
    Yields its port."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen(self)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def https_server(authority: trustme.CA, body: bytes) -> Iterator[str]:
    """An HTTPS server on loopback whose certificate the test CA signed."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    with answering_server(body, tls=context) as port:
        yield f"https://127.0.0.1:{port}/feed"


@pytest.fixture
def trusted(authority: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> trustme.CA:
    """The test CA, named as the one to trust through SSL_CERT_FILE."""
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return authority


def test_https_is_verified_against_the_cas_the_environment_names(trusted: trustme.CA) -> None:
    with https_server(trusted, BODY.encode()) as url, fetcher() as client:
        result = client.fetch(url)
    assert result.status == 200 and result.body == BODY.encode()


def test_an_https_certificate_no_trusted_ca_signed_is_refused(
    authority: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with https_server(authority, BODY.encode()) as url:
        error = failure(url)
    assert error.kind == "connect"
    assert str(error).startswith("connection to 127.0.0.1 failed: ")
    assert "CERTIFICATE_VERIFY_FAILED" in str(error)


def test_an_https_server_dripping_its_headers_is_cut_off_at_the_deadline(
    trusted: trustme.CA,
) -> None:
    # The watchdog must reach the TLS socket, not only the TCP one under it.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trusted.issue_cert("127.0.0.1").configure_cert(context)
    with dripping_server(b"", one_byte_at_a_time(DRIPPED_HEADERS), tls=context) as (
        address,
        finished,
    ):
        error = failure(f"https://{address}/feed", timeout=1.0)
        assert not finished.is_set()
    assert (error.kind, str(error)) == CUT_OFF


@pytest.mark.parametrize(
    ("variable", "written"),
    [("HTTP_PROXY", "http://{address}"), ("ALL_PROXY", "{address}"), ("HTTP_PROXY", "{address}")],
)
def test_a_proxy_from_the_environment_is_used_except_for_no_proxy_hosts(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch, variable: str, written: str
) -> None:
    asked: list[tuple[str, str | None]] = []

    def proxy_asked(request: BaseHTTPRequestHandler) -> None:
        # A proxy is asked for the absolute URL, with its own credentials.
        asked.append((request.path, request.headers.get("Proxy-Authorization")))

    with answering_server(BODY.encode(), proxy_asked) as port:
        monkeypatch.setenv(variable, written.format(address=f"desk:s%40fe@127.0.0.1:{port}"))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        feed_server.set("/feed", BODY)
        with fetcher() as client:
            proxied = client.fetch("http://feeds.example.org/rss")
            direct = client.fetch(feed_server.url("/feed"))
    assert proxied.body == direct.body == BODY.encode()
    assert asked == [("http://feeds.example.org/rss", "Basic ZGVzazpzQGZl")]  # desk:s@fe
    assert [r.path for r in feed_server.requests] == ["/feed"]


def connections_of_three_fetches(**limits: object) -> set[tuple[str, int]]:
    """The client ends (address, port) of three fetches from one server."""
    clients: list[tuple[str, int]] = []
    with (
        answering_server(
            BODY.encode(), lambda request: clients.append(request.client_address)
        ) as port,
        fetcher(**limits) as client,
    ):
        for _ in range(3):
            assert client.fetch(f"http://127.0.0.1:{port}/feed").body == BODY.encode()
    assert len(clients) == 3
    return set(clients)


def test_connections_to_a_host_are_kept_alive_between_fetches() -> None:
    assert len(connections_of_three_fetches()) == 1


def test_request_targets_are_percent_encoded_and_keep_their_query(
    feed_server: FeedServer,
) -> None:
    feed_server.set("/feeds/na%C3%AFve%20list.xml", BODY)
    with fetcher() as client:
        url = feed_server.url("/feeds/naïve list.xml") + "?lang=ko&q=a b"
        assert client.fetch(url).body == BODY.encode()
    (request,) = feed_server.requests
    assert request.path == "/feeds/na%C3%AFve%20list.xml?lang=ko&q=a%20b"


def response(status: str, body: bytes = b"", headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body


FEED = response("200 OK", BODY.encode())
HANG_UP = None
"""In a scripted conversation: close the connection instead of answering."""


@contextlib.contextmanager
def scripted_server(
    *conversations: Sequence[bytes | None],
) -> Iterator[tuple[str, list[list[str]]]]:
    """A server on loopback that holds the n-th connection it accepts to the
    n-th conversation: each request on it gets the next answer, sent whole,
    or the connection is closed unanswered (HANG_UP). Yields its address
    (host:port) and the request lines each connection carried."""
    heard: list[list[str]] = []

    def converse(listener: socket.socket) -> None:
        for answers in conversations:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            lines: list[str] = []
            heard.append(lines)
            with connection:
                for answer in answers:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        data = connection.recv(65536)
                        if not data:
                            return
                        request += data
                    lines.append(request.split(b"\r\n", 1)[0].decode())
                    if answer is HANG_UP:
                        break
                    connection.sendall(answer)

    with raw_server(converse) as address:
        yield address, heard


def test_a_304_and_a_redirect_leave_their_connection_to_the_next_fetch() -> None:
    moved = response("301 Moved Permanently", b"moved", "Location: /new\r\n")
    conversation = [response("304 Not Modified"), moved, FEED]
    with scripted_server(conversation) as (address, heard), fetcher() as client:
        assert client.fetch(f"http://{address}/feed", Validators(etag='"v1"')).not_modified
        assert client.fetch(f"http://{address}/feed").body == BODY.encode()
    assert heard == [["GET /feed HTTP/1.1", "GET /feed HTTP/1.1", "GET /new HTTP/1.1"]]


def test_a_connection_idle_longer_than_the_keepalive_time_is_not_reused() -> None:
    assert len(connections_of_three_fetches(keepalive=0.0)) == 3


def test_a_kept_alive_connection_closed_as_it_is_reused_is_retried_on_a_new_one() -> None:
    # The race every keep-alive client meets: the server closes an idle
    # connection just as a request goes out on it. The user sees no error.
    with scripted_server([FEED, HANG_UP], [FEED]) as (address, heard), fetcher() as client:
        client.fetch(f"http://{address}/feed")
        assert client.fetch(f"http://{address}/feed").body == BODY.encode()
    assert heard == [["GET /feed HTTP/1.1"] * 2, ["GET /feed HTTP/1.1"]]


@pytest.mark.parametrize(
    ("conversations", "heard_before"),
    [
        pytest.param([[HANG_UP]], [], id="on a new connection: no retry"),
        pytest.param([[FEED, HANG_UP], [HANG_UP]], ["GET /feed HTTP/1.1"], id="on the retry too"),
    ],
)
def test_a_server_hanging_up_unasked_is_a_connect_error(
    conversations: list[list[bytes | None]], heard_before: list[str]
) -> None:
    with scripted_server(*conversations) as (address, heard), fetcher() as client:
        for _ in heard_before:  # fetches that leave a connection to keep alive
            client.fetch(f"http://{address}/feed")
        with pytest.raises(FetchError) as caught:
            client.fetch(f"http://{address}/feed")
    assert caught.value.kind == "connect"
    assert str(caught.value).startswith("connection to 127.0.0.1 failed: ")
    # One request per connection the failing fetch tried, none more.
    assert [line for lines in heard for line in lines] == heard_before + [
        "GET /feed HTTP/1.1"
    ] * len(conversations)


def test_a_reused_connection_is_cut_off_at_the_deadline_too() -> None:
    heard: list[bytes] = []
    with (
        dripping_server(FEED, one_byte_at_a_time(DRIPPED_HEADERS), requests=2, heard=heard) as (
            address,
            finished,
        ),
        fetcher(timeout=1.0) as client,
    ):
        assert client.fetch(f"http://{address}/feed").body == BODY.encode()
        with pytest.raises(FetchError) as caught:
            client.fetch(f"http://{address}/feed")
        assert not finished.is_set()
    assert (caught.value.kind, str(caught.value)) == CUT_OFF
    assert [request.split(b"\r\n")[0] for request in heard] == [b"GET /feed HTTP/1.1"] * 2, (
        "both requests went on the one connection the server accepted"
    )


def test_a_deadline_firing_as_its_fetch_ends_leaves_the_kept_alive_connection_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The body read to its end hands the connection back to the pool before
    # the fetch cancels its deadline: make every deadline fire in between.
    cancel = Deadline.cancel

    def fire_then_cancel(deadline: Deadline) -> None:
        deadline.expire()
        cancel(deadline)

    monkeypatch.setattr(Deadline, "cancel", fire_then_cancel)
    assert len(connections_of_three_fetches()) == 1


def test_a_connection_left_idle_is_closed_after_the_keepalive_time() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    hung_up = threading.Event()

    def serve_one() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(FEED)
            if connection.recv(65536) == b"":  # the client closed its end
                hung_up.set()

    server = threading.Thread(target=serve_one, daemon=True)
    server.start()
    with listener, fetcher(keepalive=0.2) as client:
        client.fetch(f"http://127.0.0.1:{listener.getsockname()[1]}/feed")
        # No other fetch comes: the watchdog closes it, not a later fetch.
        assert hung_up.wait(timeout=10)
    server.join(timeout=5)


def test_a_closed_connection_connects_again_through_the_resolver() -> None:
    # A connection object reconnects after it was closed (idle too long):
    # the resolver is asked for the name again, not for its last answer.
    asked: list[str] = []

    def resolve(host: str) -> str:
        asked.append(host)
        if host != "feeds.example.org":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return "127.0.0.1"

    with answering_server(BODY.encode()) as port:
        client = HttpFetcher(FetchLimits(keepalive=0.0), resolver=resolve)
        with client:
            for _ in range(2):
                assert client.fetch(f"http://feeds.example.org:{port}/feed").body
    assert asked == ["feeds.example.org"] * 2


def test_a_deadline_never_touches_a_socket_released_back_to_the_pool() -> None:
    # A kept-alive connection serves the next fetch at once: the deadline of
    # the fetch before must not shut it down when it fires later.
    released, released_peer = socket.socketpair()
    watched, watched_peer = socket.socketpair()
    with released, released_peer, watched, watched_peer:
        deadline = Deadline(at=0.0)
        deadline.watch(released)
        deadline.watch(watched)
        assert deadline.release(released)
        deadline.expire()
        released.sendall(b"still open")
        assert released_peer.recv(64) == b"still open"
        assert watched_peer.recv(64) == b""  # shut down: the peer sees the end
        assert not deadline.release(watched)  # so it is not kept alive either


def test_a_cancelled_deadline_shuts_nothing_down() -> None:
    sock, peer = socket.socketpair()
    with sock, peer:
        deadline = Deadline(at=0.0)
        deadline.watch(sock)
        deadline.cancel()
        deadline.expire()
        sock.sendall(b"still open")
        assert peer.recv(64) == b"still open"


def test_a_chunked_body_is_capped_whatever_length_it_also_declares() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n%s\r\n" % (100_000, b"y" * 100_000)
    with dripping_server(head + chunk * 20, [b"0\r\n\r\n"]) as (address, _):
        error = failure(f"http://{address}/feed", max_bytes=1_000_000)
    assert (error.kind, str(error)) == (
        "too-large",
        "feed exceeds the size limit of 1,000,000 bytes: the body is larger",
    )


def test_credentials_in_a_feed_url_go_to_its_origin_only(feed_server: FeedServer) -> None:
    feed_server.set("/elsewhere", BODY)
    port = feed_server.url("/feed").rsplit(":", 1)[1].split("/")[0]
    feed_server.redirect("/feed", f"http://localhost:{port}/elsewhere")  # another origin
    with fetcher() as client:
        result = client.fetch(f"http://desk:s%40fe@127.0.0.1:{port}/feed")
    assert result.body == BODY.encode()
    first, second = feed_server.requests
    assert first.headers["authorization"] == "Basic ZGVzazpzQGZl"  # desk:s@fe
    assert "authorization" not in second.headers
    assert second.path == "/elsewhere"
