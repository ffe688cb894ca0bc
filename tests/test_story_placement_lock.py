"""Placing alerts in stories, across instances (issue 19): two instances
on one PostgreSQL database never place at once, or each would read the
stories before the other's commit and write its own view of them. The
lock is the server's: it holds across processes and ends with a dead one."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store.claims import ClaimOwner
from monitor.store.postgres import PostgresStore
from tests.support.postgres import create_schema, drop_schema, require_server, schema_name

ELSEWHERE = ClaimOwner("another-host", 4242, 100, "another-boot", 1)


@pytest.fixture
def state_url(tmp_path: Path) -> Iterator[str]:
    require_server()
    name = schema_name(str(tmp_path))
    yield create_schema(name)
    drop_schema(name)


def test_a_second_instance_waits_for_the_first_ones_placing_to_end(state_url: str) -> None:
    here = PostgresStore(state_url, pool_size=2)
    there = PostgresStore(state_url, owner=ELSEWHERE, pool_size=2)
    entered = threading.Event()
    try:
        with here.placing_stories():

            def place_there() -> None:
                with there.placing_stories():
                    entered.set()

            waiting = threading.Thread(target=place_there, daemon=True)
            waiting.start()
            assert not entered.wait(0.5), "the other instance places while this one does"
        assert entered.wait(10), "the other instance never got to place once this one ended"
        waiting.join(10)
    finally:
        here.close()
        there.close()


def test_a_process_killed_while_placing_leaves_no_lock_behind(state_url: str) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from monitor.store.postgres import PostgresStore\n"
            "store = PostgresStore(sys.argv[1], pool_size=2)\n"
            "with store.placing_stories():\n"
            "    print('placing', flush=True)\n"
            "    time.sleep(600)\n",
            state_url,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    store = PostgresStore(state_url, owner=ELSEWHERE, pool_size=2)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "placing"
        holder.kill()
        holder.wait(10)
        done = threading.Event()

        def place() -> None:
            with store.placing_stories():
                done.set()

        threading.Thread(target=place, daemon=True).start()
        assert done.wait(20), "a dead instance's placing blocks the living"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
        store.close()
