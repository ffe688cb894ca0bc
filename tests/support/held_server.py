"""A feed server for a slow host the test controls: its answers wait until
the test lets them go, with no sleeps and no timing."""

from __future__ import annotations

import re
import threading

from tests.support.feed_server import FeedServer

HOLD = 300.0
"""The delay to give a held route: longer than any test waits."""


class HeldFeedServer(FeedServer):
    """A FeedServer whose delayed routes (``delay=HOLD``) answer only once
    :meth:`release_delays` is called, and at once from then on."""

    def __init__(self) -> None:
        super().__init__()
        self._released = threading.Event()

    def pause(self, seconds: float) -> bool:
        self._released.wait(seconds)
        return not self.stopping

    def release_delays(self) -> None:
        self._released.set()


def fetch_settings(config_text: str, settings: str) -> str:
    """``config_text`` (from tests.support.setup.write_config) with its
    [fetch] table's timeouts replaced by ``settings``: held polls must not
    time out while a test holds them."""
    replaced, count = re.subn(
        r'\[fetch\]\ntimeout = "2s"\nconnect_timeout = "2s"\n',
        f'[fetch]\n{settings.strip()}\nconnect_timeout = "2s"\n',
        config_text,
    )
    assert count == 1, "write_config's [fetch] table changed"
    return replaced
