"""Pytest fixtures for the loopback test servers; loaded as a plugin by tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.feed_server import FeedServer
from tests.support.slack_emulator import SlackEmulator

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
_LOOPBACK = "127.0.0.1,localhost"


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep loopback traffic away from any proxy configured in the environment.

    The fetcher honours NO_PROXY, but slack-sdk's WebClient does not: it copies HTTPS_PROXY or
    HTTP_PROXY into an explicit ProxyHandler and would send even 127.0.0.1 through the proxy.
    So the proxy variables are removed outright, and NO_PROXY is set as a second guard for
    anything that reads proxies on its own.
    """
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_PROXY", _LOOPBACK)
    monkeypatch.setenv("no_proxy", _LOOPBACK)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started :class:`FeedServer`, stopped (delays interrupted) after the test."""
    with FeedServer() as server:
        yield server


@pytest.fixture
def slack_emulator() -> Iterator[SlackEmulator]:
    """A started :class:`SlackEmulator`, stopped (hangs interrupted) after the test."""
    with SlackEmulator() as emulator:
        yield emulator
