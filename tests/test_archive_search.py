"""The archive in a real monitor: what its polls read of loopback feeds is
kept; `monitor search` finds it and says what alerted; retention forgets it;
`monitor backtest` runs the rules, or a candidate directory, over it and
shows what would be added, lost and changed; a bad query is a clear message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.app import Monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.monitors import MonitorMaker
from tests.support.setup import FakeClock, FeedSpec, run_cli, write_config

DPRK = "North Korean troops killed in Kursk, Ukraine says"
CHINA = "US sanctions Chinese firms supplying Russia's drone makers"
FOOTBALL = "Football results: Example United beat Example City"
BACKLOG = "North Korean troops killed near Kursk, Ukraine's army reports"


@pytest.fixture
def clock() -> FakeClock:
    """The monitor's clock near the real one: the commands judge ``--since`` by the real time."""
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def entry(title: str, slug: str, published: datetime) -> Entry:
    link = f"https://news.example/{slug}"
    return Entry(title, link=link, guid=link, summary=f"{title}.", published=published)


def polled(
    make_monitor: MonitorMaker, feed_server: FeedServer, clock: FakeClock, extra: str = ""
) -> Monitor:
    """A monitor whose first poll baselined an old item that would alert, and
    whose second read three new ones: two alert (shipped rules), one does not."""
    old = clock.now - timedelta(days=2)
    feed_server.set("/news", rss([entry(BACKLOG, "backlog", old)]))
    monitor = make_monitor(extra=extra)
    monitor.poll_all()
    clock.advance(minutes=5)
    fresh = [
        entry(DPRK, "dprk", clock.now),
        entry(CHINA, "china", clock.now),
        entry(FOOTBALL, "football", clock.now),
    ]
    feed_server.set("/news", rss([entry(BACKLOG, "backlog", old), *fresh]))
    monitor.poll_all()
    monitor.deliver_due()
    return monitor


def config_of(tmp_path: Path) -> str:
    return str(tmp_path / "config.toml")


def test_search_finds_what_was_polled_and_says_what_alerted(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    polled(make_monitor, feed_server, clock)
    code, out, err = run_cli(capsys, "search", "kursk", "--config", config_of(tmp_path))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].endswith(DPRK), "newest first: the new item before the backlog"
    assert "<https://news.example/dprk>  [news]" in lines[1]
    assert lines[2].strip() == "ALERTED: dprk-troops-combat critical -> #watch-desk (sent)"
    assert lines[3].endswith(BACKLOG)
    assert lines[5].strip() == "no alert", "the first poll's backlog was baselined"
    assert err.strip() == "search: 2 items"

    code, out, _ = run_cli(
        capsys, "search", '"example united"', "--json", "--since", "1d", "--config",
        config_of(tmp_path),
    )  # fmt: skip
    (found,) = [json.loads(line) for line in out.splitlines()]
    assert (found["title"], found["feed"], found["alerted"]) == (FOOTBALL, "news", [])
    assert found["tags"] == ["news"]

    code, out, _ = run_cli(
        capsys, "search", "sanction*", "--tag", "news", "--feed", "news", "--json",
        "--config", config_of(tmp_path),
    )  # fmt: skip
    (found,) = [json.loads(line) for line in out.splitlines()]
    assert found["alerted"] == [
        {
            "rule": "sanctions-chinese-firms",
            "severity": "critical",
            "status": "sent",
            "channel": "#watch-desk",
        }
    ]
    code, out, _ = run_cli(
        capsys, "search", "kursk", "--feed", "other", "--config", config_of(tmp_path)
    )
    assert (code, out) == (0, "")


@pytest.mark.parametrize("query", ["Kursk-region", '"kursk', "kursk AND"])
def test_a_bad_query_is_a_clear_message_and_exit_2(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    query: str,
) -> None:
    polled(make_monitor, feed_server, clock)
    code, out, err = run_cli(capsys, "search", query, "--config", config_of(tmp_path))
    assert (code, out) == (2, "")
    assert err.startswith(f"monitor search: not a valid search query {query!r}")
    assert 'double quotes ("drone strike", "Kursk-region")' in err
    assert "Traceback" not in err


def test_search_before_any_poll_says_nothing_is_archived(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [FeedSpec("news", "https://news.example/rss")])
    code, out, err = run_cli(capsys, "search", "kursk", "--config", str(config))
    assert (code, out) == (2, "")
    assert "nothing is archived" in err
    assert not (tmp_path / "state").exists(), "searching creates no state"


def test_retention_forgets_archived_items_and_disabled_keeps_none(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monitor = polled(make_monitor, feed_server, clock, extra='[archive]\nretention = "3d"\n')
    config = monitor.config
    assert config.archive.retention == timedelta(days=3)
    clock.advance(days=2)
    feed_server.set("/news", rss([entry("Kursk: a later report", "later", clock.now)]))
    monitor.poll_all()
    clock.advance(days=2)
    monitor.prune()  # as `monitor run` does every hour

    code, out, _ = run_cli(capsys, "search", "kursk", "--config", config_of(tmp_path))
    assert code == 0
    assert out.splitlines()[0].endswith("Kursk: a later report")
    assert DPRK not in out and BACKLOG not in out

    off = make_monitor(extra="[archive]\nenabled = false\n")
    clock.advance(minutes=5)
    feed_server.set("/news", rss([entry("Kursk: archive off", "off", clock.now)]))
    off.poll_all()
    code, out, _ = run_cli(capsys, "search", '"archive off"', "--config", config_of(tmp_path))
    assert (code, out) == (0, "")


def write_candidate(tmp_path: Path) -> Path:
    """A candidate rules directory: the DPRK rule lowered to a warning, a new
    football rule, and no rule on sanctions against Chinese firms."""
    rules = tmp_path / "candidate"
    rules.mkdir()
    (rules / "dprk.yaml").write_text(
        "id: dprk-troops-combat\ntitle: DPRK\nseverity: warning\nmatch:\n  any: [kursk]\n",
        encoding="utf-8",
    )
    (rules / "football.yaml").write_text(
        "id: football-results\ntitle: Football\nseverity: info\nmatch:\n  any: [football]\n",
        encoding="utf-8",
    )
    return rules


def test_backtest_of_a_candidate_shows_added_lost_and_changed_alerts(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monitor = polled(make_monitor, feed_server, clock)
    before = monitor.store.outbox(["pending", "sent", "failed", "silenced"])
    candidate = write_candidate(tmp_path)

    code, out, err = run_cli(capsys, "backtest", "--config", config_of(tmp_path))
    assert (code, out) == (0, ""), "the rules that ran change nothing, the backlog included"
    assert "2 alerts would be raised, 2 were; 0 added, 0 lost, 0 changed severity" in err

    code, out, err = run_cli(
        capsys, "backtest", "--rules", str(candidate), "--since", "2d", "--config",
        config_of(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    rows = sorted(" ".join(line.split()[:6]) for line in out.splitlines())
    assert rows == [
        "ADDED football-results would: info did: none",
        "CHANGED dprk-troops-combat would: warning did: critical",
        "LOST sanctions-chinese-firms would: none did: critical",
    ]
    assert "1 added, 1 lost, 1 changed severity" in err
    assert f"backtest: {candidate} over 4 items" in err

    code, out, _ = run_cli(
        capsys, "backtest", "football-results", "--rules", str(candidate), "--json",
        "--config", config_of(tmp_path),
    )  # fmt: skip
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert (row["change"], row["rule"], row["would"], row["did"], row["title"]) == (
        "added",
        "football-results",
        "info",
        None,
        FOOTBALL,
    )
    assert monitor.store.outbox(["pending", "sent", "failed", "silenced"]) == before, (
        "a backtest queues nothing"
    )


def test_backtest_names_an_unknown_rule(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    polled(make_monitor, feed_server, clock)
    code, _, err = run_cli(
        capsys, "backtest", "dprk-troops-comabt", "--config", config_of(tmp_path)
    )
    assert code == 2
    assert "no rule 'dprk-troops-comabt' (did you mean 'dprk-troops-combat'?)" in err
