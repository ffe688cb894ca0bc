"""Parsing in worker processes gives exactly what parsing in the thread gives."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.errors import FeedError, NotAFeedError
from monitor.rules import load as load_module
from monitor.rules.compiled import Match
from monitor.rules.load import RuleSet, load_rules
from monitor.sources import parser_pool as pool_module
from monitor.sources.parser_pool import ParserPool
from monitor.sources.rss import ParseOptions, parse_feed
from tests.support.feeds import Entry, atom, rss
from tests.support.setup import SHIPPED_RULES

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "realworld"
ARGS = ParseOptions(feed_name="wire", feed_url="https://news.example/feed", tags=("news",))


@pytest.fixture
def pool() -> Iterator[ParserPool]:
    parser = ParserPool(2, offload_bytes=0)  # every document goes to a worker
    yield parser
    parser.close()


def test_a_worker_parses_like_the_calling_thread(pool: ParserPool) -> None:
    body = rss([Entry(f"Item {n}", link=f"https://news.example/{n}") for n in range(50)]).encode()
    assert pool.parse(body, options=ARGS) == parse_feed(body, ARGS)


def test_errors_come_back_from_a_worker_with_their_kind(pool: ParserPool) -> None:
    page = b"<!doctype html><html><head><title>Just a moment...</title></head></html>"
    with pytest.raises(NotAFeedError, match="HTML page") as raised:
        pool.parse(page, options=ARGS)
    assert raised.value.kind == "not-a-feed"


def test_a_dead_worker_costs_time_never_a_feed(
    pool: ParserPool, caplog: pytest.LogCaptureFixture
) -> None:
    body = atom([Entry("Entity List additions", link="https://gov.example/1")]).encode()
    executor = pool._executor_for(len(body))
    assert executor is not None
    with pytest.raises(Exception, match="terminated abruptly"):
        executor.submit(os._exit, 1).result()
    with caplog.at_level(logging.WARNING, logger="monitor.parse"):
        parsed = pool.parse(body, options=ARGS)
    assert [item.title for item in parsed.items] == ["Entity List additions"]
    assert "a parser process died while feed=wire was being parsed" in caplog.text
    assert pool.parse(body, options=ARGS) == parsed  # a new pool took over


class AlwaysBrokenPool(ParserPool):
    """Every pool it starts has just lost a worker, as if each document killed it."""

    def _executor_for(self, size: int) -> ProcessPoolExecutor | None:
        executor = super()._executor_for(size)
        assert executor is not None
        with contextlib.suppress(Exception):
            executor.submit(os._exit, 1).result()
        return executor


def test_a_document_that_kills_the_parser_twice_fails_the_poll_not_the_monitor() -> None:
    pool = AlwaysBrokenPool(1, offload_bytes=0)
    body = rss([Entry("x", link="https://news.example/x")]).encode()
    try:
        with pytest.raises(FeedError, match="died twice on this document") as raised:
            pool.parse(body, options=ARGS)
        assert raised.value.kind == "parse"
    finally:
        pool.close()


def test_small_documents_and_a_pool_of_none_stay_in_the_thread() -> None:
    pool = ParserPool(0, offload_bytes=0)
    body = rss([Entry("x", link="https://news.example/x")]).encode()
    assert pool._executor_for(len(body)) is None
    assert ParserPool(2)._executor_for(100) is None
    assert pool.parse(body, options=ARGS).items
    pool.close()


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpora/realworld is not present")
def test_real_feeds_parse_the_same_in_a_worker(pool: ParserPool) -> None:
    for path in sorted(CORPUS.iterdir())[:12]:
        body = path.read_bytes()
        args = replace(ARGS, feed_url=f"https://bench.example/{path.name}")
        try:
            expected = parse_feed(body, args)
        except NotAFeedError:
            continue
        assert pool.parse(body, options=args) == expected, path.name


def test_workers_leave_when_the_monitor_is_killed_outright(tmp_path: Path) -> None:
    """SIGKILL leaves no chance to shut the pool down; the workers must not
    linger (they would hold the monitor's stderr open for ever)."""
    script = tmp_path / "owner.py"
    script.write_text(
        "import sys, time\n"
        "from monitor.sources.parser_pool import ParserPool\n"
        "if __name__ == '__main__':\n"
        "    pool = ParserPool(2)\n"
        "    pool.start()\n"
        "    print(' '.join(str(p) for p in pool._executor._processes), flush=True)\n"
        "    time.sleep(600)\n",
        encoding="utf-8",
    )
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    workers = [int(pid) for pid in owner.stdout.readline().split()]
    assert len(workers) == 2
    owner.kill()
    owner.wait()
    owner.stdout.close()

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A zombie is gone too: it has exited and waits only for its reaper.
        status = Path(f"/proc/{pid}/status")
        return status.exists() and "State:\tZ" in status.read_text()

    deadline = time.monotonic() + 60  # catches a hang; the workers leave within a second or two
    while not all(gone(pid) for pid in workers):
        assert time.monotonic() < deadline, "parser workers outlived their monitor"
        time.sleep(0.1)


# --- matching in the workers -----------------------------------------------------


def case_feed(rules: RuleSet, tags: tuple[str, ...]) -> bytes:
    """A feed of the shipped rules' own test cases: items that match and items that must not."""
    cases = [case for rule in rules.rules for case in rule.cases if set(case.tags) <= set(tags)]
    return rss(
        [
            Entry(case.title, link=f"https://news.example/{n}", summary=case.summary)
            for n, case in enumerate(cases)
        ]
    ).encode()


def view(matches: list[Match]) -> list[tuple[object, ...]]:
    return [(m.item.identity, m.rule.id, m.severity, m.matched, m.guard) for m in matches]


@pytest.mark.parametrize("tags", [("news",), ("sanctions", "news")])
def test_a_worker_matches_items_as_the_monitor_does(
    pool: ParserPool, tags: tuple[str, ...]
) -> None:
    rules = load_rules(SHIPPED_RULES)
    assert rules.source is not None
    body = case_feed(rules, tags)
    parsed = pool.parse(body, options=replace(ARGS, tags=tags), rules=rules.source)
    assert parsed.matches is not None and parsed.matches.rules_digest == rules.source.digest
    here = [m for item in parsed.items for m in rules.match(item)]
    assert len(here) > 20
    rebuilt = rules.rebuild(parsed.matches, parsed.items)
    assert rebuilt is not None and view(rebuilt) == view(here)
    # Only the items asked for: the monitor asks for its new ones.
    some = parsed.items[::3]
    assert view(rules.rebuild(parsed.matches, some) or []) == view(
        [m for item in some for m in rules.match(item)]
    )


def test_a_worker_leaves_matching_to_the_monitor_when_the_rule_files_changed(
    pool: ParserPool, tmp_path: Path
) -> None:
    directory = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, directory)
    rules = load_rules(directory)
    assert rules.source is not None
    edited = sorted(directory.glob("*.yaml"))[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    parsed = pool.parse(case_feed(rules, ("news",)), options=ARGS, rules=rules.source)
    assert parsed.items and parsed.matches is None
    assert rules.rebuild(parsed.matches, parsed.items) is None  # so the monitor matches itself
    assert load_rules(directory).source != rules.source


def test_rules_read_while_their_files_change_are_never_handed_to_a_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    readings = iter([{"a.yaml": "1"}, {"a.yaml": "2"}])
    monkeypatch.setattr(load_module, "rules_fingerprint", lambda directory: next(readings))
    assert load_rules(SHIPPED_RULES).source is None


def test_every_worker_has_the_rules_loaded_as_it_starts(tmp_path: Path) -> None:
    rules = load_rules(SHIPPED_RULES)
    parser = ParserPool(2, offload_bytes=0)
    parser.preload = rules.source
    try:
        parser.start()
        executor = parser._executor_for(0)
        assert executor is not None
        pids = {job.result() for job in [executor.submit(_loaded_rules_of, 0.05) for _ in range(6)]}
    finally:
        parser.close()
    assert {digest for _, digest in pids} == {rules.source.digest if rules.source else None}
    assert len({pid for pid, _ in pids}) == 2


def _loaded_rules_of(nap: float) -> tuple[int, str | None]:
    time.sleep(nap)
    loaded = pool_module._loaded_rules
    return os.getpid(), loaded.source.digest if loaded and loaded.source else None
