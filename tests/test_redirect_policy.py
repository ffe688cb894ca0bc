"""A public feed may not redirect the monitor into private address space."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path
from textwrap import dedent

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError, FetchError
from monitor.sources.http import FetchLimits, HttpFetcher
from monitor.sources.urls import IPNetwork, is_internal_address, refused_redirect_address
from monitor.wiring import fetch_limits
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss

BODY = rss([Entry("Internal item", link="https://news.example/1")]).encode()
PUBLIC_NAME = "feeds.public.test"
PUBLIC_ADDRESS = "93.184.216.34"


def addresses(*texts: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    return [ipaddress.ip_address(text) for text in texts]


def networks(*texts: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(text, strict=False) for text in texts)


@pytest.mark.parametrize(
    "target",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",  # IPv4 loopback written as IPv6
    ],
)
def test_a_public_feed_may_not_redirect_to_an_internal_address(target: str) -> None:
    assert is_internal_address(ipaddress.ip_address(target))
    refused = refused_redirect_address(addresses(PUBLIC_ADDRESS), addresses(target), ())
    assert refused == ipaddress.ip_address(target)


def test_a_public_feed_may_redirect_to_another_public_address() -> None:
    assert refused_redirect_address(addresses(PUBLIC_ADDRESS), addresses("1.1.1.1"), ()) is None


def test_one_internal_address_among_a_names_answers_is_enough_to_refuse() -> None:
    refused = refused_redirect_address(
        addresses(PUBLIC_ADDRESS), addresses("1.1.1.1", "10.0.0.7"), ()
    )
    assert refused == ipaddress.ip_address("10.0.0.7")


def test_a_feed_configured_on_an_internal_address_may_redirect_within_the_network() -> None:
    assert refused_redirect_address(addresses("10.0.0.2"), addresses("127.0.0.1"), ()) is None


@pytest.mark.parametrize(
    ("allowed", "target", "refused"),
    [
        (("10.0.0.0/8",), "10.20.30.40", False),
        (("127.0.0.1",), "127.0.0.1", False),
        (("127.0.0.1",), "::ffff:127.0.0.1", False),
        (("10.0.0.0/8",), "192.168.1.1", True),
        (("fd00::/8",), "127.0.0.1", True),
    ],
)
def test_the_allow_list_opens_only_the_networks_it_names(
    allowed: Sequence[str], target: str, refused: bool
) -> None:
    verdict = refused_redirect_address(
        addresses(PUBLIC_ADDRESS), addresses(target), networks(*allowed)
    )
    assert (verdict is not None) is refused


def public_fetcher(feed_server: FeedServer, allow: tuple[IPNetwork, ...] = ()) -> HttpFetcher:
    """Every name connects to the loopback server, but the redirect policy
    sees PUBLIC_NAME resolve to a public address, as DNS would answer."""
    answers = {PUBLIC_NAME: [PUBLIC_ADDRESS], "internal.test": ["127.0.0.1"]}
    return HttpFetcher(
        FetchLimits(timeout=5.0, connect_timeout=5.0, allow_private=allow),
        resolver=lambda host: "127.0.0.1",
        redirect_resolver=lambda host: answers[host],
    )


def test_a_redirect_from_a_public_feed_to_loopback_is_refused_and_not_fetched(
    feed_server: FeedServer,
) -> None:
    feed_server.set("/internal", BODY)
    feed_server.redirect("/feed", f"http://127.0.0.1:{feed_server.port}/internal", 302)
    with public_fetcher(feed_server) as client, pytest.raises(FetchError) as caught:
        client.fetch(f"http://{PUBLIC_NAME}:{feed_server.port}/feed")
    assert caught.value.kind == "private-redirect"
    assert str(caught.value) == (
        f"{PUBLIC_NAME} redirected to 127.0.0.1 (127.0.0.1), an internal address; "
        "not followed (list its network in fetch.allow_private to allow it)"
    )
    assert feed_server.hits("/internal") == 0


def test_the_policy_judges_the_address_a_name_resolves_to_not_the_name(
    feed_server: FeedServer,
) -> None:
    feed_server.set("/internal", BODY)
    feed_server.redirect("/feed", f"http://internal.test:{feed_server.port}/internal", 302)
    with public_fetcher(feed_server) as client, pytest.raises(FetchError) as caught:
        client.fetch(f"http://{PUBLIC_NAME}:{feed_server.port}/feed")
    assert caught.value.kind == "private-redirect"
    assert "internal.test (127.0.0.1)" in str(caught.value)
    assert feed_server.hits("/internal") == 0


def test_an_allow_listed_internal_address_is_followed(feed_server: FeedServer) -> None:
    feed_server.set("/internal", BODY)
    feed_server.redirect("/feed", f"http://127.0.0.1:{feed_server.port}/internal", 302)
    with public_fetcher(feed_server, networks("127.0.0.0/8")) as client:
        result = client.fetch(f"http://{PUBLIC_NAME}:{feed_server.port}/feed")
    assert (result.status, result.body) == (200, BODY)
    assert result.url == f"http://127.0.0.1:{feed_server.port}/internal"


def test_a_feed_configured_on_loopback_still_follows_its_redirects(
    feed_server: FeedServer,
) -> None:
    feed_server.set("/internal", BODY)
    feed_server.redirect("/feed", f"http://localhost:{feed_server.port}/internal", 302)
    with HttpFetcher(FetchLimits(timeout=5.0), resolver=lambda host: "127.0.0.1") as client:
        result = client.fetch(feed_server.url("/feed"))
    assert result.body == BODY


CONFIG = dedent(
    """\
    [state]
    path = "state/monitor.db"
    [rules]
    dir = "rules"
    [slack]
    channel = "#watch-desk"
    [fetch]
    allow_private = {allow}
    [[feeds]]
    name = "bbc-world"
    url = "https://feeds.bbci.co.uk/news/world/rss.xml"
    """
)


def test_config_allow_private_reaches_the_fetcher(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(allow='["10.0.0.0/8", "127.0.0.1"]'), encoding="utf-8")
    limits = fetch_limits(load_config(path))
    assert limits.allow_private == networks("10.0.0.0/8", "127.0.0.1/32")


def test_config_rejects_an_allow_private_entry_that_is_no_network(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(allow='["intranet"]'), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "allow_private entries must be IP addresses or CIDR networks" in str(caught.value)
    assert "'intranet'" in str(caught.value)
