"""`monitor search`: the item archive's full-text search, newest first, each
item with whether and how it alerted. Reads the state; writes nothing."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias

from monitor.clock import utc_now
from monitor.commands.console import Console, ExitCode
from monitor.config import LoadedConfig
from monitor.delivery.message import format_time
from monitor.domain.archive import MAX_SEARCH_SPAN, QUERY_HELP, ArchivedItem
from monitor.errors import SearchError
from monitor.store.factory import open_store
from monitor.store.ports import Store
from monitor.units import format_duration, parse_duration

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What add_subparsers returns (argparse gives it no public name)."""
Command = Callable[[Path, argparse.Namespace, Console], int]
"""A command as the parser holds it (see monitor.cli)."""
Configured = Callable[[Callable[[LoadedConfig, argparse.Namespace, Console], int]], Command]
"""monitor.cli.configured: a command given the validated config."""

DEFAULT_LIMIT = 50


def add_search_parser(
    commands: Subparsers, common: argparse.ArgumentParser, configured: Configured
) -> None:
    """The `search` subcommand."""
    parser = commands.add_parser(
        "search",
        parents=[common],
        help="search the archive of items read, newest first, with whether and how each alerted",
        epilog=f"QUERY: {QUERY_HELP}.",
    )
    parser.add_argument("query", metavar="QUERY", help="words, a quoted phrase, pre*, AND/OR/NOT")
    parser.add_argument(
        "--since", type=duration_option, metavar="DURATION", help="first seen this recently (2d)"
    )
    parser.add_argument("--feed", metavar="NAME", help="only this feed's items")
    parser.add_argument("--tag", metavar="TAG", help="only items of feeds with this tag")
    parser.add_argument(
        "--limit", type=_positive, default=DEFAULT_LIMIT, metavar="N",
        help=f"at most N items (default {DEFAULT_LIMIT})",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON object per item")
    parser.set_defaults(call=configured(_search))


def _search(loaded: LoadedConfig, args: argparse.Namespace, console: Console) -> int:
    return search(
        loaded,
        args.query,
        since=args.since,
        feed=args.feed,
        tag=args.tag,
        limit=args.limit,
        as_json=args.json,
        console=console,
    )


def duration_option(text: str) -> timedelta:
    """A ``--since`` value (``2d``, ``6h``), or argparse's error."""
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not isinstance(value, timedelta) or not timedelta(0) < value <= MAX_SEARCH_SPAN:
        raise argparse.ArgumentTypeError(
            f"not a duration from 1s to {MAX_SEARCH_SPAN.days} days: {text!r}"
        )
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def open_archive(loaded: LoadedConfig, command: str, console: Console) -> Store | None:
    """The state store, if there is one; None (and why, on the console) when
    the monitor has never run here: opening would create it."""
    where = loaded.state_location
    if isinstance(where, str):
        return open_store(where)
    path = where
    if not path.exists():
        console.warn(
            f"monitor {command}: no state database at {str(path)!r} (state.path): "
            "the monitor has not polled here yet, so nothing is archived"
        )
        return None
    return open_store(path)


def search(
    loaded: LoadedConfig,
    query: str,
    *,
    since: timedelta | None,
    feed: str | None,
    tag: str | None,
    limit: int,
    as_json: bool,
    console: Console,
) -> ExitCode:
    """Print the archived items that match ``query``, newest first; UNUSABLE
    for a query that is not valid (the message says how to write one)."""
    now = utc_now()
    store = open_archive(loaded, "search", console)
    if store is None:
        return ExitCode.UNUSABLE
    with store:
        try:
            found = store.search(
                query,
                since=now - since if since is not None else None,
                feed=feed,
                tag=tag,
                limit=limit,
            )
        except SearchError as exc:
            console.warn(f"monitor search: {exc}")
            return ExitCode.UNUSABLE
    for archived in found:
        if as_json:
            console.say(json.dumps(archived_json(archived), ensure_ascii=False))
        else:
            _print(archived, console)
    window = f" first seen in the last {format_duration(since)}" if since is not None else ""
    more = f" (the newest {limit}: --limit shows more)" if len(found) == limit else ""
    console.warn(f"search: {len(found)} item{'s' if len(found) != 1 else ''}{window}{more}")
    return ExitCode.OK


def alert_text(archived: ArchivedItem) -> str:
    """Whether and how the item alerted, in one line."""
    if not archived.alerted:
        return "no alert"
    marks = ", ".join(
        f"{mark.rule_id} {mark.severity.value} -> {mark.channel} ({mark.status})"
        for mark in archived.alerted
    )
    return f"ALERTED: {marks}"


def _print(archived: ArchivedItem, console: Console) -> None:
    item = archived.item
    source = f"{item.feed} / {item.publisher}" if item.publisher else item.feed
    console.say(f"{format_time(archived.first_seen_at)}  {item.title}")
    console.say(f"    <{item.link or 'no link'}>  [{source}]")
    console.say(f"    {alert_text(archived)}")


def archived_json(archived: ArchivedItem) -> dict[str, Any]:
    """One archived item as `monitor search --json` prints it."""
    item = archived.item
    return {
        "title": item.title,
        "link": item.link,
        "feed": item.feed,
        "publisher": item.publisher,
        "tags": list(item.feed_tags),
        "id": item.guid or item.identity,
        "identity": item.identity,
        "published": _iso(item.timestamp),
        "first_seen_at": _iso(archived.first_seen_at),
        "summary": item.summary,
        "alerted": [
            {
                "rule": mark.rule_id,
                "severity": mark.severity.value,
                "status": mark.status,
                "channel": mark.channel,
            }
            for mark in archived.alerted
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
