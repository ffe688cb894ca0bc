"""The one place where concrete parts are wired together, and the poll and
delivery steps that use them.

Data flows one way: fetch → parse → dedupe → match → decide → outbox →
deliver. Every I/O dependency (store, fetcher, sink, clock) comes in through
the constructor, so tests swap in local servers or fakes.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from monitor.config import (
    FeedSettings,
    LoadedConfig,
    load_config,
    mention_syntax,
)
from monitor.delivery.policy import (
    AlertPolicy,
    all_mentions,
    as_reply,
    decide,
    find_story,
    may_roll_up,
    retry_delay,
    route,
    silence_for,
)
from monitor.delivery.render import digest_message, storm_summary
from monitor.delivery.sinks import Posted, Sink
from monitor.delivery.slack_check import (
    Identity,
    TokenHold,
    TokenRejected,
    TokenUnverified,
    TokenVerdict,
    token_recheck_due,
)
from monitor.domain.alert import Alert, OutboxEntry, RoutedAlert, Silence, Story, Target
from monitor.domain.feed import FeedState, PruneReport, Validators
from monitor.domain.item import effective_time
from monitor.domain.kinds import FeedErrorKind
from monitor.errors import (
    ConfigError,
    DeliveryError,
    FeedError,
    NotAFeedError,
    PermanentDeliveryError,
    RuleError,
    StateError,
    TokenRejectedError,
    TransientDeliveryError,
)
from monitor.logs import redact_in_logs
from monitor.pipeline.desk_health import desk_health
from monitor.pipeline.feed_health import (
    FAILING,
    SILENT,
    FeedCondition,
    StaleFeed,
    closing_alert,
    expected_silence,
    feed_conditions,
    incident_changes,
    is_ops_alert,
    ops_alert,
    silent_group_alert,
    silent_together,
    stale_at_first_read,
    stale_log_line,
    stale_notice,
)
from monitor.pipeline.feed_status import FeedStatus, feed_status
from monitor.pipeline.flood import Flood, flood_notice, fold_floods
from monitor.pipeline.hostpool import run_host_fair
from monitor.pipeline.reload import (
    FeedChanges,
    Settling,
    config_rule_problems,
    file_digest,
    keep_restart_only,
    load_rule_set,
)
from monitor.pipeline.schedule import next_poll_delay, publish_gap
from monitor.redact import Redactor
from monitor.rules.load import RuleSet, rules_fingerprint
from monitor.server import Metrics
from monitor.sources.http import Fetcher, host_key
from monitor.sources.parser_pool import ParserPool
from monitor.store.ports import Store

log = logging.getLogger("monitor")

Clock = Callable[[], datetime]
T = TypeVar("T")


def _seconds(value: float | None) -> timedelta | None:
    return timedelta(seconds=value) if value else None


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PollReport:
    feed: str
    items: int = 0
    new: int = 0
    alerts: int = 0
    not_modified: bool = False
    error: FeedError | None = None
    next_poll_at: datetime | None = None
    """When the feed is due again (None if that could not be recorded)."""
    first_read: bool = False
    """This poll was the feed's first successful read (at its URL)."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class DeliveryReport:
    """What one delivery run did; counted up while it runs."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    silenced: int = 0
    rolled_up: int = 0
    """Of those sent, how many went out inside a storm summary."""
    held: bool = False
    """True when some delivery paused because Slack asked us to wait or is down."""

    def result(self, *, held: bool = False) -> DeliveryReport:
        self.held = held
        return self


class Monitor:
    def __init__(
        self,
        *,
        loaded: LoadedConfig,
        rules: RuleSet,
        store: Store,
        fetcher: Fetcher,
        sink: Sink,
        clock: Clock = utc_now,
        jitter: Callable[[], float] = random.random,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rules_fingerprint_at_load: dict[str, str] | None = None,
        parser: ParserPool | None = None,
        token_check: Callable[[], TokenVerdict] | None = None,
    ) -> None:
        """``token_check``: asks Slack whether it accepts the token (auth.test);
        None where there is no token to ask about."""
        self.loaded = loaded
        self.config = loaded.config
        self._watched = self.config.feed_names()
        self.rules = rules
        self.store = store
        self.redactor: Redactor
        self._redact_secrets()
        self.fetcher = fetcher
        self.parser = parser or ParserPool(0)
        self.parser.preload = rules.source
        self.sink = sink
        self.clock = clock
        self._jitter = jitter
        self._policy = AlertPolicy(
            baseline_window=self.config.polling.baseline_window,
            max_item_age=self.config.polling.max_item_age,
        )
        self._delivery_lock = threading.Lock()
        # Matching here (small documents, or rules a parser process lacks) is
        # pure CPU. Poll threads matching at the same time only take turns
        # with the GIL, and the turns cost: on a 2-core machine, four threads
        # matching the corpus items used 70 % more CPU than one thread
        # matching them all. So one poll matches at a time; the others
        # meanwhile fetch or wait for a parser process.
        self._matching_lock = threading.Lock()
        # Per feed, the last body that was no feed (an HTML page, a JSON
        # document): its URL, digest and Content-Type (which the verdict may
        # depend on), and the verdict. The same again gets the same verdict
        # without a parse. In memory only, so that a monitor upgraded to read
        # more formats looks again; only the message is kept, not the error
        # with its traceback, which holds the body.
        self._not_a_feed: dict[str, tuple[tuple[str, str, str | None], str]] = {}
        self._hold_all_until: datetime | None = None
        self._channel_holds: dict[str, datetime] = {}
        self._token_check = token_check
        self._token_hold: TokenHold | None = None
        self._last_post: dict[str, float] = {}
        self._sleep = sleep
        self._monotonic = monotonic
        self._rules_files = Settling(
            rules_fingerprint(loaded.rules_dir)
            if rules_fingerprint_at_load is None
            else rules_fingerprint_at_load
        )
        self._config_file = Settling(loaded.digest or file_digest(loaded.path))
        self.metrics = Metrics()
        self.metrics.declare((rule.id for rule in rules.rules), self._watched)
        self.scheduler_running = False
        self._scheduler_check: Callable[[], str | None] = lambda: None
        self._started_at = clock()
        self._last_success: datetime | None = None
        # New feeds that looked stale at their first read wait here until
        # every new feed has had its first poll, then are reported together.
        self._stale_lock = threading.Lock()
        self._stale_pending: list[StaleFeed] = []
        self._polled: set[str] = set()
        self._awaiting_first_poll: set[str] | None = None
        # One poll thread at a time gathers the feeds going silent together,
        # so that two threads never announce the same feeds.
        self._silent_lock = threading.Lock()

    # --- rules --------------------------------------------------------------

    def reload_rules(self, *, at_once: bool = False) -> bool:
        """Apply changed rule files if they are valid; True when rules were replaced.

        A change is applied once the files have stayed the same for two checks
        in a row, so a directory caught halfway through a deploy or an
        editor's save is not taken for the new rules (``at_once``: without
        waiting, as on SIGHUP). An invalid change is logged once, and the
        last good rules keep running. Polls under way keep the rule set they
        started with.
        """
        settled = self._rules_files.look(rules_fingerprint(self.loaded.rules_dir), at_once=at_once)
        if settled is None:
            return False
        previous, fingerprint = settled
        changed = sorted(
            name
            for name in fingerprint.keys() | previous.keys()
            if fingerprint.get(name) != previous.get(name)
        )
        try:
            new = load_rule_set(self.loaded)
        except RuleError as exc:
            log.error(
                "rule files changed (%s) but are invalid; still running the previous %d rules:\n%s",
                ", ".join(changed),
                len(self.rules.rules),
                "\n".join(f"  {problem}" for problem in exc.problems),
            )
            return False
        except Exception:
            log.exception(
                "rule files changed (%s) but could not be loaded; still running the previous %d rules",
                ", ".join(changed),
                len(self.rules.rules),
            )
            return False
        old_ids = {rule.id for rule in self.rules.rules}
        new_ids = {rule.id for rule in new.rules}
        self.rules = new
        self.metrics.declare((rule.id for rule in new.rules), self._watched)
        self.parser.preload = new.source
        added, removed = sorted(new_ids - old_ids), sorted(old_ids - new_ids)
        log.info(
            "rules reloaded: %d rules%s%s; changed files: %s",
            len(new.rules),
            f"; added {', '.join(added)}" if added else "",
            f"; removed {', '.join(removed)}" if removed else "",
            ", ".join(changed),
        )
        return True

    def reload_config(self, *, at_once: bool = False) -> FeedChanges | None:
        """Apply a changed config.toml if it is valid; the feeds it changed.

        Feeds added, removed or changed take effect at once (the scheduler
        adds and removes their poll jobs), as do routes, mentions, polling,
        ops and delivery policy. What was wired at start (state, rules
        directory, fetch limits, server, Slack connection, delivery tick)
        keeps its old value until a restart, and the log says so. The file
        must settle (two equal looks) like rule files, unless ``at_once``; an
        invalid change is logged once and the running config stays.
        """
        settled = self._config_file.look(file_digest(self.loaded.path), at_once=at_once)
        if settled is None:
            return None
        try:
            loaded = load_config(self.loaded.path)
        except ConfigError as exc:
            log.error(
                "config file %s changed but is invalid; still running the previous config:\n%s",
                self.loaded.path,
                "\n".join(f"  {problem}" for problem in exc.problems),
            )
            return None
        for problem in config_rule_problems(loaded, self.rules):
            # Logged, not refused: a route to a rule not loaded yet never
            # matches, and the rule may be on its way in the same deploy.
            log.warning("config file %s: %s", self.loaded.path, problem.message)
        config, restart_only = keep_restart_only(self.config, loaded.config)
        if restart_only:
            log.warning(
                "config file %s: %s changed; that takes effect at the next restart",
                self.loaded.path,
                ", ".join(restart_only),
            )
        old_feeds = {feed.name: feed for feed in self.config.feeds}
        new_feeds = {feed.name: feed for feed in config.feeds}
        changes = FeedChanges(
            added=tuple(sorted(new_feeds.keys() - old_feeds.keys())),
            removed=tuple(sorted(old_feeds.keys() - new_feeds.keys())),
            changed=tuple(
                sorted(
                    name
                    for name in old_feeds.keys() & new_feeds.keys()
                    if old_feeds[name] != new_feeds[name]
                )
            ),
        )
        self.loaded = replace(self.loaded, config=config, digest=loaded.digest)
        self.config = config
        self._watched = config.feed_names()
        self._redact_secrets()
        self.metrics.declare((), self._watched)
        for name in changes.removed:
            self._not_a_feed.pop(name, None)
        self._policy = AlertPolicy(
            baseline_window=config.polling.baseline_window,
            max_item_age=config.polling.max_item_age,
        )
        self.close_unwatched_incidents()
        self._expect_first_polls(
            feed for feed in config.feeds if feed.name in {*changes.added, *changes.changed}
        )
        log.info(
            "config reloaded: %d feed%s; added: %s; removed: %s; changed: %s",
            len(config.feeds),
            "" if len(config.feeds) == 1 else "s",
            ", ".join(changes.added) or "none",
            ", ".join(changes.removed) or "none",
            ", ".join(changes.changed) or "none",
        )
        return changes

    def _redact_secrets(self) -> None:
        """Hide the secrets of the feed URLs of the config now running: from
        the log, and from what older versions stored in the clear."""
        self.redactor = self.config.redactor()
        redact_in_logs(self.redactor)
        try:
            self.store.redact_stored(self.redactor.url, self.redactor.text)
        except StateError as exc:
            log.error("cannot redact the feed URLs stored in the state database: %s", exc)

    # --- polling ------------------------------------------------------------

    def poll_feed(self, feed: FeedSettings) -> PollReport:
        """Poll one feed: fetch, parse, queue alerts for new matching items.

        A failure is logged and reported, never raised: one broken feed must
        not stop the others. Nothing is committed unless the whole poll
        succeeds, so a crash midway means the items are seen again next time.
        """
        started = time.monotonic()
        state_after: FeedState | None = None
        self._expect_first_polls()
        try:
            report, state_after = self._poll_feed(feed)
        except Exception as exc:
            kind: FeedErrorKind = "state" if isinstance(exc, StateError) else "internal"
            log.exception("poll feed=%s FAILED (%s error)", feed.name, kind)
            error = self.redactor.error(FeedError(kind, f"{type(exc).__name__}: {exc}"))
            next_poll_at: datetime | None = None
            try:
                state = self.store.feed_state(feed.name)
                next_poll_at = self._next_poll(
                    feed, state, failures=(state.consecutive_failures if state else 0) + 1
                )
                self.store.record_failure(
                    feed=feed.name,
                    url=self.redactor.url(feed.url),
                    kind=kind,
                    message=str(error),
                    now=self.clock(),
                    next_poll_at=next_poll_at,
                )
            except StateError as state_error:
                log.error("cannot record the failed poll of feed=%s: %s", feed.name, state_error)
                next_poll_at = None
            report = PollReport(feed.name, error=error, next_poll_at=next_poll_at)
        self._count_poll(feed, report, time.monotonic() - started)
        self.check_feed_health(feed, state_after, first_read=report.first_read)
        self._report_stale_first_reads(polled=feed.name)
        return report

    def close_unwatched_incidents(self) -> None:
        """End the open incidents of feeds no longer configured, without a
        notice: nobody watches them, and they would count as open for ever."""
        try:
            names = self._watched
            for incident in self.store.open_incidents():
                if incident.feed not in names:
                    self.store.close_incident(incident.id, alerts=[], now=self.clock())
        except StateError as exc:
            log.error("cannot close the incidents of removed feeds: %s", exc)

    def check_feed_health(
        self, feed: FeedSettings, state: FeedState | None = None, *, first_read: bool = False
    ) -> None:
        """Open an incident (one ops alert) for a feed failing or silent too
        long, and close it (one recovery or withdrawal notice) when that
        ends. ``state`` is the feed's state if the caller has just written
        it, else it is read. After a feed's ``first_read``, note it if it
        looks stale already (reported with the others, see
        _report_stale_first_reads)."""
        ops = self.config.ops
        if feed.name not in self._watched:
            return  # a poll started before a reload removed its feed
        if not ops.enabled and not first_read:
            return
        try:
            if state is None:
                state = self.store.feed_state(feed.name)
            if state is None:
                return
            now = self.clock()
            silent_after = self._silent_after(feed, state)
            if first_read:
                stale = stale_at_first_read(state, silent_after=silent_after)
                if stale is not None:
                    with self._stale_lock:
                        self._stale_pending.append(stale)
            if not ops.enabled:
                return
            conditions = feed_conditions(
                state,
                now=now,
                failing_after=ops.failing_after,
                silent_after=silent_after,
                silent_min=ops.silent_min,
            )
            to_open, kinds_to_close = incident_changes(state, conditions)
            to_close = (
                [i for i in self.store.open_incidents(feed.name) if i.kind in kinds_to_close]
                if kinds_to_close
                else []
            )
            target = Target(self.config.ops_channel(), ops.mentions)
            for condition in to_open:
                if condition.kind == SILENT:
                    self._open_silent_incidents(feed, condition, now=now)
                    continue
                alert = ops_alert(feed.name, self.redactor.url(feed.url), condition, now)
                if self.store.open_incident(
                    feed=feed.name,
                    kind=condition.kind,
                    since=condition.since,
                    detail=condition.detail,
                    alerts=[(alert, target)],
                    now=now,
                ):
                    self.metrics.alerts.labels(alert.rule_id, alert.severity.value).inc()
                    log.warning(
                        "ops alert for %s: %s (%s)", target.channel, alert.title, condition.detail
                    )
            for incident in to_close:
                limit = ops.failing_after if incident.kind == FAILING else silent_after
                shown = self.redactor.url(feed.url)
                alert = closing_alert(feed.name, shown, incident, state, now, limit=limit)
                # Good news pages nobody: the notice goes without the mentions.
                quiet = Target(target.channel)
                if self.store.close_incident(incident.id, alerts=[(alert, quiet)], now=now):
                    self.metrics.alerts.labels(alert.rule_id, alert.severity.value).inc()
                    log.info("ops notice for %s: %s", target.channel, alert.title)
        except StateError as exc:
            log.error("cannot check the health of feed=%s: %s", feed.name, exc)

    def _silent_after(self, feed: FeedSettings, state: FeedState) -> timedelta:
        ops = self.config.ops
        return expected_silence(
            state.publish_gap,
            own=feed.silent_after,
            factor=ops.silent_factor,
            minimum=ops.silent_min,
        )

    def _open_silent_incidents(
        self, feed: FeedSettings, condition: FeedCondition, *, now: datetime
    ) -> None:
        """Open ``feed``'s silent incident, and those of the other feeds going
        silent with it (:func:`monitor.pipeline.feed_health.silent_together`), judged on
        their stored states. One feed gets its own alert; several get one
        message together, carried by the first incident opened, so that a
        crash between openings re-announces the rest rather than lose them.
        An incident already open (another thread, another process) is left
        alone. Raises StateError."""
        ops = self.config.ops
        with self._silent_lock:
            states = {state.name: state for state in self.store.feed_states()}
            polled = states.get(feed.name)
            opening: dict[str, FeedCondition] = {}
            if polled is None or SILENT not in polled.open_incidents:
                opening[feed.name] = condition
            others = [
                (state, self._silent_after(other, state))
                for other in self.config.feeds
                if other.name != feed.name
                and (state := states.get(other.name)) is not None
                # A repointed feed is judged at its own poll.
                and self.redactor.url(state.url) == self.redactor.url(other.url)
            ]
            for name, found in silent_together(
                others, now=now, failing_after=ops.failing_after, silent_min=ops.silent_min
            ):
                opening[name] = found
            if not opening:
                return
            feeds = [f for f in self.config.feeds if f.name in opening]  # as config.toml lists them
            target = Target(self.config.ops_channel(), ops.mentions)
            if len(feeds) == 1:
                (alone,) = feeds
                shown = self.redactor.url(alone.url)
                alert = ops_alert(alone.name, shown, opening[alone.name], now)
            else:
                alert = silent_group_alert([(f.name, opening[f.name]) for f in feeds], now)
            carried = [(alert, target)]
            opened = []
            for silent in feeds:
                found = opening[silent.name]
                if self.store.open_incident(
                    feed=silent.name,
                    kind=SILENT,
                    since=found.since,
                    detail=found.detail,
                    alerts=carried,
                    now=now,
                ):
                    opened.append(silent.name)
                    carried = []
        if not opened:
            return
        self.metrics.alerts.labels(alert.rule_id, alert.severity.value).inc()
        if len(feeds) == 1:
            log.warning("ops alert for %s: %s (%s)", target.channel, alert.title, alert.summary)
        else:
            log.warning(
                "ops alert for %s: %d feeds silent together: %s",
                target.channel,
                len(opened),
                "; ".join(f"{name} ({opening[name].detail})" for name in opened),
            )

    def _report_stale_first_reads(self, *, polled: str | None = None, force: bool = False) -> None:
        """Report the new feeds that looked stale at their first read: one
        log line and one ops notice for all of them, once no new feed is
        still waiting for its first poll (or at once with ``force``, at the
        end of a `monitor once` run or at shutdown)."""
        with self._stale_lock:
            if polled is not None:
                self._polled.add(polled)
            if not self._stale_pending or (not force and self._first_polls_pending()):
                return
            stale, self._stale_pending = self._stale_pending, []
        order = {feed.name: number for number, feed in enumerate(self.config.feeds)}
        stale.sort(key=lambda feed: order.get(feed.feed, len(order)))  # as config.toml lists them
        ops = self.config.ops
        now = self.clock()
        log.warning("%s", stale_log_line(stale, now=now, silent_min=ops.silent_min))
        if not ops.enabled:
            return
        notice = stale_notice(stale, now=now, silent_min=ops.silent_min)
        try:
            if self.store.queue_alerts([(notice, Target(self.config.ops_channel()))], now=now):
                self.metrics.alerts.labels(notice.rule_id, notice.severity.value).inc()
        except StateError as exc:
            log.error("cannot queue the notice about feeds stale at first read: %s", exc)

    def _first_polls_pending(self) -> bool:
        """Whether a watched feed never polled before has not had its first
        poll in this process yet (called with _stale_lock held)."""
        if self._awaiting_first_poll is None:
            return False
        self._awaiting_first_poll &= self._watched - self._polled
        return bool(self._awaiting_first_poll)

    def _expect_first_polls(self, feeds: Iterable[FeedSettings] | None = None) -> None:
        """Note which feeds were never polled (at their URL), so that the
        notice about stale first reads waits for them. Taken before the
        first poll, and for the feeds a reload adds or changes, before any
        of their polls can write."""
        with self._stale_lock:
            if feeds is None:
                if self._awaiting_first_poll is not None:
                    return
                feeds, self._awaiting_first_poll = self.config.feeds, set()
            elif self._awaiting_first_poll is None:
                return  # taken at the first poll, which has not happened yet
            for feed in feeds:
                self._polled.discard(feed.name)
                try:
                    state = self.store.feed_state(feed.name)
                except StateError:
                    continue  # cannot tell: do not hold the notice back for it
                if state is None or self.redactor.url(state.url) != self.redactor.url(feed.url):
                    self._awaiting_first_poll.add(feed.name)

    def prune(self) -> PruneReport:
        """Forget what is older than polling.seen_retention (see Store.prune)."""
        cutoff = self.clock() - self.config.polling.seen_retention
        try:
            report = self.store.prune(cutoff)
        except StateError as exc:
            log.error("cannot prune the state database: %s", exc)
            return PruneReport()
        log.info(
            "pruned records older than %s: %d seen items, %d delivered alerts, %d stories, "
            "%d closed incidents",
            f"{cutoff:%Y-%m-%d %H:%M} UTC",
            report.seen,
            report.alerts,
            report.stories,
            report.incidents,
        )
        return report

    def _count_poll(self, feed: FeedSettings, report: PollReport, seconds: float) -> None:
        metrics = self.metrics
        outcome = "error" if report.error else ("not_modified" if report.not_modified else "ok")
        metrics.polls.labels(feed.name, outcome).inc()
        metrics.poll_duration.observe(seconds)
        if report.error is not None:
            metrics.poll_errors.labels(report.error.kind).inc()
        else:
            self._last_success = self.clock()
            metrics.last_success.set(self._last_success.timestamp())
            metrics.items.labels(feed.name).inc(report.new)

    def watch_scheduler(self, problem: Callable[[], str | None]) -> None:
        """The scheduler runs from now: /healthz asks ``problem`` why it no
        longer does, if so, and counts the time without a read from now."""
        self._scheduler_check = problem
        self._started_at = self.clock()
        self.scheduler_running = True

    def scheduler_problem(self) -> str | None:
        """Why no poll is scheduled any more, if so (/healthz and /livez)."""
        if not self.scheduler_running:
            return "the scheduler is not running"
        return self._scheduler_check()

    def health(self) -> tuple[bool, dict[str, object]]:
        """For /healthz: can the desk see (see monitor.pipeline.desk_health.desk_health)."""
        scheduler_problem = self.scheduler_problem()
        states: dict[str, FeedState] | None
        try:
            states = {state.name: state for state in self.store.feed_states()}
            state_problem = None
        except StateError as exc:
            states, state_problem = None, str(exc)
        verdict = desk_health(
            [feed.name for feed in self.config.feeds],
            states,
            now=self.clock(),
            started_at=self._started_at,
            last_success=self._last_success,
            failing_after=self.config.ops.failing_after,
            scheduler_problem=scheduler_problem,
            state_problem=state_problem,
            delivery_problem=self._token_hold.problem() if self._token_hold else None,
        )
        return verdict.healthy, verdict.body

    def refresh_gauges(self) -> None:
        counts = self.store.outbox_counts()
        self.metrics.outbox_pending.set(counts["pending"] + counts["sending"])
        names = self._watched
        incidents = [i for i in self.store.open_incidents() if i.feed in names]
        for kind in ("failing", "silent"):
            self.metrics.open_incidents.labels(kind).set(sum(i.kind == kind for i in incidents))
        # From the stored states, not from polls in a time window: a feed
        # backed off to polling.max_backoff is polled rarely and still failing.
        states = {state.name: state for state in self.store.feed_states()}
        config = self.config  # one config for the whole count, even if a reload swaps it
        ops = config.ops
        now = self.clock()
        by_status = dict.fromkeys(FeedStatus, 0)
        for feed in config.feeds:
            state = states.get(feed.name)
            gap = state.publish_gap if state else None
            status = feed_status(
                polled=state is not None,
                next_poll_at=state.next_poll_at if state else None,
                consecutive_failures=state.consecutive_failures if state else 0,
                open_incidents=state.open_incidents if state else (),
                first_success_at=state.first_success_at if state else None,
                last_item_at=state.last_item_at if state else None,
                now=now,
                interval=config.interval_for(feed, gap),
                silent_after=expected_silence(
                    gap, own=feed.silent_after, factor=ops.silent_factor, minimum=ops.silent_min
                ),
                failing_after=ops.failing_after,
            )
            by_status[status] += 1
        for status, count in by_status.items():
            self.metrics.feeds.labels(status.value).set(count)

    def _next_poll(
        self,
        feed: FeedSettings,
        state: FeedState | None,
        *,
        failures: int,
        publish_gap: timedelta | None = None,
        asked_wait: timedelta | None = None,
    ) -> datetime:
        """When this feed is due again: its interval (adapted to how often it
        publishes, within its floor and ceiling), backed off after failures,
        or later where the server asked (Retry-After, Cache-Control max-age,
        RSS ttl), up to polling.max_backoff; plus jitter. It is stored with
        the poll's outcome, in the same write."""
        polling = self.config.polling
        gap = publish_gap or (state.publish_gap if state else None)
        delay = next_poll_delay(
            self.config.interval_for(feed, gap),
            failures=failures,
            max_backoff=polling.max_backoff,
            asked_wait=asked_wait,
            jitter=polling.jitter,
            random_unit=self._jitter(),
        )
        return self.clock() + delay

    def _poll_feed(self, feed: FeedSettings) -> tuple[PollReport, FeedState | None]:
        """The poll's report, and the feed's state after it when the poll has
        it at hand (else the health check reads it)."""
        started = time.monotonic()
        now = self.clock()
        rules = self.rules  # one rule set for the whole poll, even if a reload swaps it
        state = self.store.feed_state(feed.name)
        # A feed repointed at another URL is a new source: its validators mean
        # nothing here, and its backlog is baselined like a new feed's. URLs
        # are stored redacted: one with a new password is the same source.
        redactor = self.redactor
        shown_url = redactor.url(feed.url)
        same_source = state is not None and redactor.url(state.url) == shown_url
        validators = state.validators if state is not None and same_source else Validators()
        first_poll = state is None or not same_source or state.first_success_at is None
        seen_before: tuple[str, str, str | None] | None = None
        try:
            result = self.fetcher.fetch(feed.url, validators)
            body_hash = hashlib.sha256(result.body).hexdigest() if result.body is not None else None
            # A 304, or a server that ignores validators but sent the same bytes: nothing new.
            unchanged = "HTTP 304" if result.not_modified else None
            if same_source and state is not None and body_hash and state.body_hash == body_hash:
                unchanged = "same body"
            if unchanged:
                next_poll_at = self._next_poll(
                    feed, state, failures=0, asked_wait=_seconds(result.max_age)
                )
                if state is not None and same_source:
                    state_after: FeedState | None = self.store.record_unchanged(
                        state, now=now, next_poll_at=next_poll_at
                    )
                else:  # a 304 to a request without validators
                    state_after = self.store.record_not_modified(
                        feed=feed.name, url=shown_url, now=now, next_poll_at=next_poll_at
                    )
                log.info(
                    "poll feed=%s unchanged (%s) in %.2fs",
                    feed.name,
                    unchanged,
                    time.monotonic() - started,
                )
                report = PollReport(feed.name, not_modified=True, next_poll_at=next_poll_at)
                self._not_a_feed.pop(feed.name, None)
                return report, state_after
            assert result.body is not None
            assert body_hash is not None
            seen_before = (feed.url, body_hash, result.headers.get("content-type"))
            known = self._not_a_feed.get(feed.name)
            if known is not None and known[0] == seen_before:
                raise NotAFeedError(known[1])
            parsed = self.parser.parse(
                result.body,
                feed_name=feed.name,
                feed_url=shown_url,
                tags=feed.tags,
                headers=result.headers,
                base_url=redactor.url(result.url),
                rules=rules.source,
            )
        except FeedError as exc:
            redactor.error(exc)
            if isinstance(exc, NotAFeedError) and seen_before is not None:
                self._not_a_feed[feed.name] = (seen_before, str(exc))
            next_poll_at = self._next_poll(
                feed,
                state,
                failures=(state.consecutive_failures if state else 0) + 1,
                asked_wait=_seconds(exc.retry_after),
            )
            self.store.record_failure(
                feed=feed.name,
                url=shown_url,
                kind=exc.kind,
                message=str(exc),
                now=now,
                next_poll_at=next_poll_at,
            )
            log.error("poll feed=%s FAILED (%s): %s [url %s]", feed.name, exc.kind, exc, shown_url)
            return PollReport(feed.name, error=exc, next_poll_at=next_poll_at), None
        self._not_a_feed.pop(feed.name, None)
        if parsed.warning:
            log.warning("poll feed=%s: %s", feed.name, parsed.warning)
        new_items = self.store.unseen(feed.name, parsed.items)
        matches = rules.rebuild(parsed.matches, new_items)
        if matches is None:  # parsed here, or by a worker without these rules
            with self._matching_lock:
                matches = [m for item in new_items for m in rules.match(item)]
        decision = decide(matches, now=now, first_poll=first_poll, policy=self._policy)
        flooding = fold_floods(
            decision.alerts, threshold=self.config.polling.flood_threshold, now=now
        )
        gap = publish_gap((item.timestamp for item in parsed.items), now)
        asked = [s for s in (result.max_age, parsed.ttl_minutes and parsed.ttl_minutes * 60) if s]
        next_poll_at = self._next_poll(
            feed,
            state if same_source else None,
            failures=0,
            publish_gap=gap,
            asked_wait=_seconds(max(asked)) if asked else None,
        )
        queued = self.store.commit_poll(
            feed=feed.name,
            url=shown_url,
            items=parsed.items,
            alerts=[
                *((alert, target) for alert in flooding.alerts for target in self._targets(alert)),
                *self._flood_notices(feed, flooding.floods, now),
            ],
            folded=[
                (alert, target, flood.folded_reason())
                for flood in flooding.floods
                for alert in flood.folded
                for target in self._targets(alert)
            ],
            validators=result.validators,
            now=now,
            body_hash=body_hash,
            publish_gap=gap,
            next_poll_at=next_poll_at,
            # A new item undated, or dated far ahead, is news now; a date a
            # little ahead (a fast clock) is capped at now.
            newest_item_at=max(
                (min(effective_time(item.timestamp, now) or now, now) for item in new_items),
                default=None,
            ),
        )
        for alert in flooding.alerts:
            self.metrics.alerts.labels(alert.rule_id, alert.severity.value).inc()
        for flood in flooding.floods:
            log.warning(
                "poll feed=%s FLOOD: %d alerts for rule %s in one poll, posted as one flood alert",
                feed.name,
                flood.count,
                flood.rule_id,
            )
        extra = ""
        if decision.baselined:
            extra += f" baselined={decision.baselined}"
        if decision.stale:
            extra += f" stale={decision.stale}"
        log.info(
            "poll feed=%s items=%d new=%d alerts=%d%s%s in %.2fs",
            feed.name,
            len(parsed.items),
            len(new_items),
            queued,
            extra,
            " (first poll: backlog baselined)" if first_poll else "",
            time.monotonic() - started,
        )
        report = PollReport(
            feed.name,
            items=len(parsed.items),
            new=len(new_items),
            alerts=queued,
            next_poll_at=next_poll_at,
            first_read=first_poll,
        )
        return report, None

    def _flood_notices(
        self, feed: FeedSettings, floods: Sequence[Flood], now: datetime
    ) -> list[RoutedAlert]:
        ops = self.config.ops
        if not floods or not ops.enabled:
            return []
        return [(flood_notice(floods, now), Target(self.config.ops_channel(), ops.mentions))]

    def _targets(self, alert: Alert) -> tuple[Target, ...]:
        targets = route(alert, self.config.slack)
        if self.sink.single_channel and len(targets) > 1:
            # A webhook posts to its one channel: one message, all the mentions.
            mentions = tuple(dict.fromkeys(m for t in targets for m in t.mentions))
            return (Target(targets[0].channel, mentions),)
        return targets

    def poll_all(self, feeds: Sequence[FeedSettings] | None = None) -> list[PollReport]:
        """Poll every feed once, several at a time, fair to every host (a host
        at fetch.per_host holds no thread); reports come back in feed order."""
        targets = list(self.config.feeds if feeds is None else feeds)
        if not targets:
            return []
        try:
            return run_host_fair(
                self.poll_feed,
                targets,
                lambda feed: host_key(feed.url),
                workers=min(self.config.fetch.concurrency, len(targets)),
                per_host=self.config.fetch.per_host,
                name="poll",
            )
        finally:
            self._report_stale_first_reads(force=True)
            self.flush_bookkeeping()

    def flush_bookkeeping(self, older_than: float = 0.0, *, wait: bool = True) -> None:
        """Write the store's deferred bookkeeping (see Store.record_unchanged)."""
        self.store.flush_bookkeeping(older_than, wait=wait)

    # --- delivery -----------------------------------------------------------

    def deliver_due(self) -> DeliveryReport:
        """Send the due alerts of the outbox, in the store's order (critical
        first, then turns across feed and rule; see Store.due_alerts).

        Runs one at a time in a process (a second caller returns at once);
        across processes, each alert is claimed in the store before sending.
        """
        if not self._delivery_lock.acquire(blocking=False):
            return DeliveryReport()
        try:
            report = self._deliver_batch()
            for outcome in ("sent", "retrying", "failed", "silenced"):
                self.metrics.deliveries.labels(outcome).inc(getattr(report, outcome))
            return report
        except StateError as exc:
            log.error("delivery stopped: %s", exc)
            return DeliveryReport(held=True)
        finally:
            self._delivery_lock.release()

    def _deliver_batch(self) -> DeliveryReport:
        report = DeliveryReport()
        now = self.clock()
        if self._held_for_token(now):
            return DeliveryReport(held=True)
        if self._hold_all_until is not None and now < self._hold_all_until:
            return DeliveryReport(held=True)
        self._hold_all_until = None
        held = {channel for channel, until in self._channel_holds.items() if now < until}
        self._channel_holds = {c: u for c, u in self._channel_holds.items() if c in held}
        silences = self.store.active_silences(now)
        storms: dict[str, list[OutboxEntry]] = {}
        due = self.store.due_alerts(
            now, self.config.delivery.batch_size, skip_channels=sorted(held)
        )
        for entry in due:
            if entry.channel in self._channel_holds:
                continue  # throttled earlier in this run
            if not self._take(entry, silences, now, report):
                continue
            if entry.uncertain and self._already_posted(entry, report):
                continue
            story = self._story_of(entry, now)
            # An ops alert is never rolled up: a blind feed must stand out, mentions and all.
            if (
                story is None
                and may_roll_up(entry.alert)
                and not is_ops_alert(entry.alert)
                and self._in_storm(entry.channel, now, storms)
            ):
                storms.setdefault(entry.channel, []).append(entry)
                continue
            outgoing = as_reply(entry) if story else entry
            self._pace(entry.channel)
            try:
                posted = self.sink.send(
                    outgoing, self.clock(), thread_ts=story.parent_ts if story else None
                )
            except TransientDeliveryError as exc:
                if self._retry_later(entry, exc, report):
                    return report.result(held=True)
                continue
            except TokenRejectedError as exc:
                self._hold_for_token([entry, *(e for held in storms.values() for e in held)], exc)
                return report.result(held=True)
            except PermanentDeliveryError as exc:
                self._give_up(entry, str(exc), report)
                continue
            except Exception as exc:
                # A bug or an error no sink translated: retry this alert with
                # backoff rather than let one alert stop the delivery job.
                log.exception("unexpected error delivering alert %d", entry.id)
                self._retry_later(
                    entry,
                    TransientDeliveryError(f"{type(exc).__name__}: {exc}", scope="message"),
                    report,
                )
                continue
            try:
                self.store.mark_sent(
                    entry.id,
                    now=self.clock(),
                    destination=self.sink.destination,
                    ref=posted.ts,
                    channel_id=posted.channel_id,
                    thread_ts=story.parent_ts if story else None,
                )
                self._record_story(entry, story, posted)
            except StateError as exc:
                log.error(
                    "alert %d was delivered to %s but could not be recorded as sent (%s); "
                    "it may be sent once more after its claim expires",
                    entry.id,
                    entry.channel,
                    exc,
                )
                return report.result(held=True)
            report.sent += 1
            self.metrics.delivery_latency.observe(
                max(0.0, (self.clock() - entry.alert.created_at).total_seconds())
            )
            log.info(
                "delivered alert %d (%s: %s) to %s %s",
                entry.id,
                entry.alert.rule_id,
                entry.alert.title[:80],
                self.sink.destination,
                entry.channel,
            )
        for channel, entries in storms.items():
            if self._roll_up(channel, entries, report):
                return report.result(held=True)
        return report.result(held=bool(self._channel_holds))

    def deliver_digest(self, channel: str, digest: str) -> DeliveryReport:
        """Post one channel's digest: every alert waiting for it, grouped by rule.

        The queue lives in the state database, so a restart loses nothing:
        what waited goes out at the next scheduled time.
        """
        with self._delivery_lock:
            report = DeliveryReport()
            now = self.clock()
            if self._held_for_token(now):
                return report.result(held=True)  # the queue waits for the next digest
            silences = self.store.active_silences(now)
            entries = []
            for entry in self.store.digest_queue(channel, digest, now):
                if self._take(entry, silences, now, report):
                    entries.append(entry)
            if not entries:
                return report.result()
            message = digest_message([e.alert for e in entries], channel=channel, now=now)
            self._pace(channel)
            try:
                posted = self.sink.post(channel, message)
            except TokenRejectedError as exc:
                self._hold_for_token(entries, exc)
                return report.result(held=True)
            except DeliveryError as exc:
                for entry in entries:
                    # Back in the queue for the next digest (no backoff: the schedule is the pace).
                    self.store.reschedule(
                        entry.id, attempts=entry.attempts + 1, next_attempt_at=now, error=str(exc)
                    )
                report.retrying += len(entries)
                log.error(
                    "digest for %s failed, %d alerts wait for the next one: %s",
                    channel,
                    len(entries),
                    exc,
                )
                return report.result(held=True)
            for entry in entries:
                self.store.mark_sent(
                    entry.id,
                    now=self.clock(),
                    destination=self.sink.destination,
                    ref=posted.ts,
                    channel_id=posted.channel_id,
                )
            report.sent += len(entries)
            log.info("digest for %s delivered: %d alerts", channel, len(entries))
            return report.result()

    def _take(
        self, entry: OutboxEntry, silences: list[Silence], now: datetime, report: DeliveryReport
    ) -> bool:
        """Claim an alert for sending; False if another process has it or a silence covers it."""
        if not self.store.claim(entry.id, now=self.clock()):
            return False
        silence = silence_for(entry.alert.rule_id, silences, now)
        if silence is None:
            return True
        self.store.mark_silenced(entry.id, now=self.clock(), silence=silence)
        report.silenced += 1
        log.info(
            "alert %d (%s) to %s silenced by silence %d: %s",
            entry.id,
            entry.alert.rule_id,
            entry.channel,
            silence.id,
            silence.reason,
        )
        return False

    def _in_storm(self, channel: str, now: datetime, storms: dict[str, list[OutboxEntry]]) -> bool:
        """True once the channel had its share of top-level posts in the storm window."""
        if channel in storms:
            return True
        slack = self.config.slack
        return (
            self.store.top_level_posts(channel, now - slack.storm_window) >= slack.storm_threshold
        )

    def _roll_up(self, channel: str, entries: list[OutboxEntry], report: DeliveryReport) -> bool:
        """Post one summary for alerts held back by a storm; True if Slack is down."""
        window = int(self.config.slack.storm_window.total_seconds() // 60)
        mentions = all_mentions(e.mentions for e in entries)
        message = storm_summary(
            [e.alert for e in entries],
            channel=channel,
            window_minutes=window,
            mentions=tuple(mention_syntax(m) for m in mentions),
        )
        self._pace(channel)
        try:
            posted = self.sink.post(channel, message)
        except TokenRejectedError as exc:
            self._hold_for_token(entries, exc)
            return True
        except DeliveryError as exc:
            stop = False
            for entry in entries:
                if isinstance(exc, TransientDeliveryError):
                    stop = self._retry_later(entry, exc, report) or stop
                else:
                    self._give_up(entry, str(exc), report)
            return stop
        now = self.clock()
        ref = posted.ts or f"rollup:{entries[0].id}"
        for entry in entries:
            self.store.mark_sent(
                entry.id,
                now=now,
                destination=self.sink.destination,
                ref=ref,
                channel_id=posted.channel_id,
            )
        report.sent += len(entries)
        report.rolled_up += len(entries)
        log.warning(
            "alert storm in %s: %d alerts rolled into one summary message", channel, len(entries)
        )
        return False

    def _already_posted(self, entry: OutboxEntry, report: DeliveryReport) -> bool:
        """After a timeout or a dead sender, look for the alert's own post
        before posting it again: Slack may have taken it without our knowing."""
        oldest = entry.alert.created_at - timedelta(minutes=1)
        try:
            found = self.sink.find_posted(entry, oldest, self.store.known_channel_id(entry.channel))
        except TokenRejectedError:
            return False  # the post that follows meets the same refusal and holds delivery
        except DeliveryError as exc:
            log.warning(
                "cannot check whether %s already has alert %d (%s); posting it again may show it twice",
                entry.channel,
                entry.id,
                exc,
            )
            return False
        if found is None:
            return False
        self.store.mark_sent(
            entry.id,
            now=self.clock(),
            destination=self.sink.destination,
            ref=found.ts,
            channel_id=found.channel_id,
        )
        report.sent += 1
        log.info(
            "alert %d was already in %s (its answer was lost); not posting it again",
            entry.id,
            entry.channel,
        )
        return True

    def _story_of(self, entry: OutboxEntry, now: datetime) -> Story | None:
        """The earlier alert of the same story whose thread this one joins, if any.

        Ops alerts are never threaded: those of two feeds read alike but are
        separate incidents, and a recovery notice must be seen in the channel.
        """
        if not self.sink.supports_threads or is_ops_alert(entry.alert):
            return None
        window = self.config.slack.story_window(entry.alert.rule_id)
        stories = self.store.recent_stories(
            rule_id=entry.alert.rule_id, channel=entry.channel, since=now - window
        )
        return find_story(entry.alert, stories)

    def _record_story(self, entry: OutboxEntry, story: Story | None, posted: Posted) -> None:
        now = self.clock()
        if story is None:
            if (
                posted.ts is not None
                and self.sink.supports_threads
                and not is_ops_alert(entry.alert)
            ):
                self.store.add_story(
                    Story(
                        0,
                        entry.alert.rule_id,
                        entry.channel,
                        posted.channel_id,
                        entry.alert.link,
                        entry.alert.title,
                        entry.id,
                        posted.ts,
                    ),
                    now=now,
                )
            return
        sources = self.store.add_source(story.id, now=now)
        parent = self.store.entry(story.parent_alert_id)
        if parent is None:
            return
        try:
            self.sink.update(
                story.channel_id or posted.channel_id or entry.channel,
                story.parent_ts,
                parent,
                now,
                sources,
            )
        except DeliveryError as exc:
            log.warning("could not update the thread parent of alert %d: %s", entry.id, exc)

    def _pace(self, channel: str) -> None:
        """Keep posts to one channel at least the sink's min_interval apart."""
        interval = self.sink.min_interval
        if interval <= 0:
            return
        last = self._last_post.get(channel)
        if last is not None:
            wait = interval - (self._monotonic() - last)
            if wait > 0:
                self._sleep(wait)
        self._last_post[channel] = self._monotonic()

    def _retry_later(
        self, entry: OutboxEntry, exc: TransientDeliveryError, report: DeliveryReport
    ) -> bool:
        """Reschedule one alert; True when every delivery must wait (Slack is down)."""
        delivery = self.config.delivery
        attempts = entry.attempts + 1
        if exc.scope == "message" and attempts >= delivery.max_attempts:
            self._give_up(entry, f"gave up after {attempts} attempts: {exc}", report)
            return False
        if exc.retry_after is not None:
            delay = timedelta(seconds=exc.retry_after)
        else:
            delay = retry_delay(
                attempts,
                initial=delivery.retry_initial,
                maximum=delivery.retry_max,
                jitter=self._jitter(),
            )
        next_at = self.clock() + delay
        self.store.reschedule(
            entry.id,
            attempts=attempts,
            next_attempt_at=next_at,
            error=str(exc),
            uncertain=exc.uncertain,
        )
        report.retrying += 1
        log.warning(
            "delivery of alert %d (%s) to %s failed, attempt %d, retry in %.0fs: %s",
            entry.id,
            entry.alert.rule_id,
            entry.channel,
            attempts,
            delay.total_seconds(),
            exc,
        )
        # Rate limited: that channel waits; down or unreachable: everything waits,
        # since the next alerts would only fail the same way.
        if exc.scope == "channel":
            self._channel_holds[entry.channel] = next_at
        elif exc.scope == "destination":
            self._hold_all_until = next_at
            return True
        return False

    def check_token(self) -> TokenVerdict | None:
        """Ask Slack whether it accepts the token, before the first delivery;
        None without a token to ask about. Slack out of reach is only a
        warning: an outage must not stop the monitor."""
        if self._token_check is None:
            return None
        verdict = self._token_check()
        if isinstance(verdict, TokenUnverified):
            log.warning(
                "cannot check the Slack token (%s); going on, delivery retries as usual",
                verdict.detail,
            )
        elif isinstance(verdict, Identity):
            log.info("Slack accepts the token: workspace %s, bot %s", verdict.team, verdict.user)
        return verdict

    @property
    def token_hold(self) -> TokenHold | None:
        """Set while delivery is held because Slack rejects the token."""
        return self._token_hold

    def hold_delivery(self, rejected: TokenRejected) -> None:
        """Hold every delivery: Slack rejects the token. Said once, not per alert."""
        if self._token_hold is not None:
            return
        now = self.clock()
        self._token_hold = TokenHold(str(rejected), since=now, checked_at=now)
        self.metrics.token_rejected.set(1)
        log.error(
            "delivery held: %s; every alert stays in the outbox, pending, and goes out "
            "once Slack accepts the token (monitor slack-test checks it)",
            rejected,
        )

    def _hold_for_token(self, entries: Iterable[OutboxEntry], exc: TokenRejectedError) -> None:
        now = self.clock()
        for entry in entries:
            # Back to pending as it was: no alert is to blame, so no attempt counts.
            self.store.reschedule(
                entry.id, attempts=entry.attempts, next_attempt_at=now, error=str(exc)
            )
        self.hold_delivery(TokenRejected(exc.code))

    def _held_for_token(self, now: datetime) -> bool:
        """True while Slack rejects the token; asks it again now and then."""
        hold = self._token_hold
        if hold is None:
            return False
        if not token_recheck_due(hold, now):
            return True
        verdict = self._token_check() if self._token_check is not None else None
        if isinstance(verdict, TokenRejected | TokenUnverified):
            self._token_hold = replace(hold, checked_at=now)
            return True
        self._token_hold = None
        self.metrics.token_rejected.set(0)
        # Without a check, the next post is the test, and holds again if refused.
        log.info(
            "delivery resumes: %s",
            "Slack accepts the token again" if verdict else "trying the token again",
        )
        return False

    def _give_up(self, entry: OutboxEntry, reason: str, report: DeliveryReport) -> None:
        self.store.mark_failed(
            entry.id, attempts=entry.attempts + 1, now=self.clock(), error=reason
        )
        report.failed += 1
        log.error(
            "delivery of alert %d (%s) to %s FAILED, kept in the outbox (monitor retry %d): %s",
            entry.id,
            entry.alert.rule_id,
            entry.channel,
            entry.id,
            reason,
        )

    def close(self) -> None:
        self._report_stale_first_reads(force=True)  # a stop must not swallow the notice
        close = getattr(self.fetcher, "close", None)
        try:
            if callable(close):
                close()
        finally:
            try:
                self.parser.close()
            finally:
                self.store.close()  # writes the deferred bookkeeping, whatever failed before
