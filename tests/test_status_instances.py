"""`monitor status` lists the instances sharing the state, each as its
heartbeats left it: host, pid, start, last heartbeat, version and the feeds
it holds; one not heard of for three heartbeats is marked silent. On SQLite
and on the real PostgreSQL server, with heartbeats and feed leases written
through the store as `monitor run` writes them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.commands.status import instance_silence
from monitor.config import load_config
from monitor.domain.instance import InstanceRecord
from monitor.store.claims import ClaimOwner, this_process
from monitor.store.factory import open_store
from monitor.store.ports import Store
from monitor.store.postgres import PostgresStore
from monitor.store.sqlite import SQLiteStore
from tests.support.postgres import create_schema, drop_schema, require_server, schema_name
from tests.support.setup import FeedSpec, run_cli, write_config

ELSEWHERE = ClaimOwner("desk-2.internal", 4242, 100, "another-boot", 1)
LEASE = timedelta(minutes=15)
FEEDS = [FeedSpec(name, f"https://news.example/{name}.xml") for name in ("a", "b", "c")]


@pytest.fixture(params=["sqlite", "postgres"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A config of three feeds, its state on each store in turn."""
    if request.param == "sqlite":
        yield write_config(tmp_path, FEEDS)
        return
    require_server()
    name = schema_name(str(tmp_path))
    drop_schema(name)
    yield write_config(tmp_path, FEEDS, state_extra=f'url = "{create_schema(name)}"')
    drop_schema(name)


def store_as(config: Path, owner: ClaimOwner | None = None) -> Store:
    """The config's state, opened as ``owner`` would (another instance)."""
    where = load_config(config).state_location
    if isinstance(where, str):
        return PostgresStore(where, owner=owner, pool_size=2)
    return SQLiteStore(where, owner=owner)


def test_status_lists_each_instance_and_marks_one_without_heartbeats_silent(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)  # status reads the real clock
    feeds_due = {feed.name: now - timedelta(minutes=1) for feed in FEEDS}
    with store_as(config) as here, store_as(config, ELSEWHERE) as there:
        there.heartbeat(now=now - timedelta(hours=2), version="0.18.0")
        there.heartbeat(now=now - timedelta(minutes=4), version="0.18.0")
        assert len(there.claim_due_feeds(feeds_due, now=now, limit=1, lease=LEASE)) == 1
        here.heartbeat(now=now - timedelta(minutes=30), version="0.19.0")
        here.heartbeat(now=now, version="0.19.0")
        assert len(here.claim_due_feeds(feeds_due, now=now, limit=2, lease=LEASE)) == 2

    code, out, _ = run_cli(capsys, "status", "--config", str(config))
    assert code == 0, "an instance silent is not a feed the desk is blind to"
    lines = out.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("HOST")))
    assert lines[header - 2] == "3 feeds, 0 failing, 0 silent", "the feeds come first"
    assert lines[header - 1] == "", "then, apart, the instances"
    columns = ["HOST", "PID", "STARTED", "LAST", "HEARTBEAT", "VERSION", "FEEDS"]
    assert lines[header].split() == columns
    mine, theirs = lines[header + 1 : header + 3]
    me = this_process()
    started = (now - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M UTC")
    assert mine.split()[:2] == [me.host, str(me.pid)], "newest heartbeat first"
    assert started in mine and " 0.19.0 " in mine and mine.endswith(" 2")
    assert "SILENT" not in mine
    assert theirs.split()[:2] == ["desk-2.internal", "4242"]
    assert " 4 min ago " in theirs and " 0.18.0 " in theirs
    assert theirs.endswith(
        "  1  SILENT: no heartbeat for 4 min; its leases pass to others as they end"
    ), "held feeds count until the lease ends"
    assert lines[header + 3 :] == ["2 instances, 1 silent"]


def test_status_instances_json_gives_each_instance_and_plain_json_keeps_to_the_feeds(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Scripts reading `status --json` see feed objects only, as before;
    `--instances --json` gives one object per instance."""
    now = datetime.now(UTC)
    with store_as(config, ELSEWHERE) as there:
        there.heartbeat(now=now - timedelta(minutes=4), version="0.18.0")
    with store_as(config) as here:
        here.heartbeat(now=now - timedelta(seconds=20), version="0.19.0")

    code, out, _ = run_cli(capsys, "status", "--json", "--config", str(config))
    assert code == 0
    assert [json.loads(line)["feed"] for line in out.splitlines()] == ["a", "b", "c"]
    code, out, _ = run_cli(capsys, "status", "--instances", "--json", "--config", str(config))
    assert code == 0
    mine, theirs = [json.loads(line) for line in out.splitlines()]
    me = this_process()
    assert mine["instance"] == f"{me.host}:{me.pid}" and "feed" not in mine
    assert (mine["host"], mine["pid"], mine["version"]) == (me.host, me.pid, "0.19.0")
    assert mine["silent"] is False, "20 s is under three heartbeats of 15 s"
    assert mine["heartbeat_age_seconds"] >= 20
    assert datetime.fromisoformat(mine["last_heartbeat"]) == datetime.fromisoformat(mine["started"])
    assert (theirs["instance"], theirs["silent"], theirs["feeds_claimed"]) == (
        "desk-2.internal:4242",
        True,
        0,
    )


def test_status_marks_silent_after_three_of_the_configured_heartbeat_intervals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, FEEDS, state_extra='heartbeat_every = "2m"')
    with store_as(config) as here:
        here.heartbeat(now=datetime.now(UTC) - timedelta(minutes=5), version="0.19.0")
    _, out, _ = run_cli(capsys, "status", "--config", str(config))
    assert "SILENT" not in out and out.splitlines()[-1] == "1 instance, 0 silent", (
        "5 min without a heartbeat is not yet 3 x 2 min"
    )


def test_status_of_a_state_no_instance_ran_on_shows_no_instances(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, FEEDS)
    with open_store(load_config(config).state_location) as store:
        assert store.instances(now=datetime.now(UTC)) == []
    code, out, _ = run_cli(capsys, "status", "--config", str(config))
    assert code == 0
    assert out.splitlines()[-1] == "3 feeds, 0 failing, 0 silent", "the feeds and nothing more"
    assert "HOST" not in out and "instance" not in out
    _, out, _ = run_cli(capsys, "status", "--json", "--config", str(config))
    assert all("feed" in json.loads(line) for line in out.splitlines())
    code, out, _ = run_cli(capsys, "status", "--instances", "--config", str(config))
    assert (code, out.strip()) == (0, "no instance has recorded a heartbeat in this state")


def test_an_instance_is_silent_only_past_three_heartbeat_intervals() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def record(last: timedelta) -> InstanceRecord:
        return InstanceRecord("h", 1, now - timedelta(hours=1), now - last, "0.19.0", 0)

    every = timedelta(seconds=15)
    assert instance_silence(record(timedelta(seconds=45)), every, now) is None
    assert instance_silence(record(timedelta(seconds=46)), every, now) == timedelta(seconds=46)
