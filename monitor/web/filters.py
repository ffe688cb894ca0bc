"""What a console page was asked for, read from its query string, and the
links it offers next. Pure: the query's arguments in, typed requests (or
the problem with them, which the page shows) out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from monitor.domain.archive import MAX_SEARCH_SPAN
from monitor.domain.severity import Severity
from monitor.store.alert_log import AlertQuery
from monitor.units import parse_duration

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
SEARCH_LIMIT = 100
MAX_ALERT_ID = 2**62
"""The largest alert id a page link may name (a store's ids are 64-bit)."""

"""The most items one search shows (newest first)."""


@dataclass(frozen=True)
class AlertPage:
    """The alerts page's request: its filters, its page size, and what was
    wrong with it (the page says so, and lists nothing)."""

    query: AlertQuery
    limit: int = DEFAULT_LIMIT
    problem: str | None = None

    def args(self) -> dict[str, str]:
        """The query string that asks for this page again (filters given only)."""
        query = self.query
        found = {
            "rule": query.rule_id,
            "severity": query.severity.value if query.severity else None,
            "channel": query.channel,
            "q": query.text,
            "before": str(query.before_id) if query.before_id is not None else None,
            "limit": str(self.limit) if self.limit != DEFAULT_LIMIT else None,
        }
        return {key: value for key, value in found.items() if value}


def alert_page(args: Mapping[str, str]) -> AlertPage:
    """The alerts page asked for by ``args`` (rule, severity, channel, q, before, limit)."""
    problems: list[str] = []
    severity = None
    if wanted := _given(args, "severity"):
        try:
            severity = Severity(wanted.lower())
        except ValueError:
            allowed = ", ".join(s.value for s in Severity)
            problems.append(f"severity must be one of {allowed} (got {wanted!r})")
    before = _whole(args, "before", problems, minimum=1, maximum=MAX_ALERT_ID)
    limit = _whole(args, "limit", problems, minimum=1, maximum=MAX_LIMIT)
    query = AlertQuery(
        rule_id=_given(args, "rule"),
        severity=severity,
        channel=_given(args, "channel"),
        text=_given(args, "q"),
        before_id=before,
    )
    return AlertPage(
        query=query,
        limit=limit if limit is not None else DEFAULT_LIMIT,
        problem="; ".join(problems) or None,
    )


def older_args(page: AlertPage, fetched_ids: Sequence[int]) -> dict[str, str] | None:
    """The query string of the next, older page, when there is one.

    ``fetched_ids``: the ids of the alerts fetched for this page, newest
    first, asking for one more than the page shows: that one's presence
    says there are older alerts."""
    if len(fetched_ids) <= page.limit:
        return None
    return {**page.args(), "before": str(fetched_ids[page.limit - 1])}


@dataclass(frozen=True)
class SearchRequest:
    """The search page's request; an empty ``text`` asks for the form only."""

    text: str = ""
    since: timedelta | None = None
    since_text: str = ""
    feed: str | None = None
    tag: str | None = None
    problem: str | None = None


def search_request(args: Mapping[str, str]) -> SearchRequest:
    """The search asked for by ``args`` (q, since, feed, tag)."""
    since_text = _given(args, "since") or ""
    since = None
    problem = None
    if since_text:
        try:
            value = parse_duration(since_text)
        except OverflowError:
            problem = (
                f"since: not a duration from 1s to {MAX_SEARCH_SPAN.days} days: {since_text!r}"
            )
        except ValueError as exc:
            problem = f"since: {exc}"
        else:
            if isinstance(value, timedelta) and timedelta(0) < value <= MAX_SEARCH_SPAN:
                since = value
            else:
                problem = (
                    f"since: not a duration from 1s to {MAX_SEARCH_SPAN.days} days: {since_text!r}"
                )
    return SearchRequest(
        text=(args.get("q") or "").strip(),
        since=since,
        since_text=since_text,
        feed=_given(args, "feed"),
        tag=_given(args, "tag"),
        problem=problem,
    )


def _given(args: Mapping[str, str], key: str) -> str | None:
    """A filter's value; blank counts as not given."""
    value = (args.get(key) or "").strip()
    return value or None


def _whole(
    args: Mapping[str, str],
    key: str,
    problems: list[str],
    *,
    minimum: int,
    maximum: int | None = None,
) -> int | None:
    text = _given(args, key)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        problems.append(f"{key} must be a whole number (got {text!r})")
        return None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        problems.append(f"{key} must be {bounds} (got {value})")
        return None
    return value
