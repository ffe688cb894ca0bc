"""The running monitor: one object that holds the parts of a poll
(:mod:`monitor.pipeline`) and of delivery (:mod:`monitor.delivery`), the
config and rules running now, and what the scheduler, the health server and
the CLI ask of them.

Data flows one way: source → dedupe → match → decide → outbox → deliver.
Every I/O dependency (store, fetcher, parser pool, sources, sink, clock)
comes in through the constructor, built by :mod:`monitor.wiring`; the
defaults some have (an in-thread parser, the registry's sources over the
given fetcher) serve tests that build a monitor by hand.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from datetime import timedelta

from monitor.clock import Clock, utc_now
from monitor.config import LoadedConfig
from monitor.delivery.ledger import DeliveryReport
from monitor.delivery.outbox import Deliverer
from monitor.delivery.sinks.base import Sink, posts_to_one_channel
from monitor.delivery.slack_check import TokenRejected, TokenVerdict
from monitor.delivery.token_hold import TokenHold
from monitor.domain.feed import FeedState, PruneReport
from monitor.errors import StateError
from monitor.interactivity.endpoint import interactive
from monitor.logs import redact_in_logs
from monitor.pipeline.backfill_run import BackfillReport
from monitor.pipeline.desk_health import desk_health
from monitor.pipeline.gauges import refresh_gauges
from monitor.pipeline.hostpool import run_host_fair
from monitor.pipeline.poll_report import PollReport
from monitor.pipeline.poller import Poller
from monitor.pipeline.reload import FeedChanges, Snapshot
from monitor.pipeline.reloader import Reloader, log_config_reload
from monitor.pipeline.retention import prune_state
from monitor.pipeline.watch import FeedWatch
from monitor.redact import Redactor
from monitor.rules.load import RuleSet
from monitor.server import Metrics
from monitor.settings import Config, FeedSettings
from monitor.sources.base import Source
from monitor.sources.http import Fetcher
from monitor.sources.parser_pool import ParserPool
from monitor.sources.registry import SharedParts, build_sources
from monitor.sources.urls import host_key
from monitor.store.ports import Store

log = logging.getLogger("monitor")


class Monitor:
    """One running monitor: its snapshot, poller, feed watch and deliverer."""

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
        sources: Mapping[str, Source] | None = None,
        signing_secret: str | None = None,
    ) -> None:
        """``token_check``: asks Slack whether it accepts the token (auth.test);
        None where there is no token to ask about. ``sources``: the source of
        each feed type, built from ``fetcher`` and ``parser`` when not given.
        ``signing_secret``: the Slack app's, which turns on the buttons of
        alert posts and :attr:`slack_actions`."""
        self.snapshot = Snapshot.of(loaded, rules)
        """The config and rules running now: a reload swaps it whole, and a
        poll keeps the one it started with."""
        self.store = store
        self._redact_secrets()
        self.fetcher = fetcher
        self.parser = parser or ParserPool(0)
        self.parser.preload = rules.source
        self.sources = (
            dict(sources)
            if sources is not None
            else build_sources(SharedParts(fetcher=fetcher, parser=self.parser))
        )
        self.clock = clock
        self._jitter = jitter
        self._reloader = Reloader(
            self.snapshot, rules_fingerprint_at_load=rules_fingerprint_at_load
        )
        # A rule reload and a config reload each build on the snapshot
        # running: one at a time, or the later would undo the other.
        self._reload_lock = threading.Lock()
        self.metrics = Metrics()
        sink, slack_actions = interactive(sink, store, clock, signing_secret)
        self.slack_actions = slack_actions
        """Answers Slack's interactivity requests (the server's /slack/actions),
        when alert posts carry buttons; else None."""
        self.deliverer = Deliverer(
            outbox=store,
            silences=store,
            stories=store,
            pacing=store,
            sink=sink,
            settings=lambda: self.config,
            metrics=self.metrics,
            clock=clock,
            jitter=jitter,
            sleep=sleep,
            monotonic=monotonic,
            token_check=token_check,
        )
        self.metrics.declare((rule.id for rule in rules.rules), self._watched)
        self.scheduler_running = False
        self._scheduler_check: Callable[[], str | None] = lambda: None
        self._started_at = clock()
        self.watch = FeedWatch(
            store=store, clock=clock, metrics=self.metrics, snapshot=lambda: self.snapshot
        )
        self.poller = Poller(
            store=store,
            sources=self.sources,
            snapshot=lambda: self.snapshot,
            watch=self.watch,
            metrics=self.metrics,
            clock=clock,
            jitter=jitter,
            one_channel=lambda: posts_to_one_channel(self.deliverer.sink),
        )

    @property
    def loaded(self) -> LoadedConfig:
        """The config file running now, with where it was read from."""
        return self.snapshot.loaded

    @property
    def config(self) -> Config:
        """The config running now."""
        return self.snapshot.config

    @property
    def rules(self) -> RuleSet:
        """The rules running now."""
        return self.snapshot.rules

    @property
    def redactor(self) -> Redactor:
        """Hides the secrets of the configured feed URLs."""
        return self.snapshot.redactor

    @property
    def _watched(self) -> frozenset[str]:
        return self.snapshot.watched

    # --- rules --------------------------------------------------------------

    def reload_rules(self, *, at_once: bool = False) -> bool:
        """Swap in the changed rule files once settled and valid (see
        Reloader.rules); True when rules were replaced. Polls under way keep
        the rule set they started with."""
        with self._reload_lock:
            new = self._reloader.rules(self.snapshot, at_once=at_once)
            if new is None:
                return False
            self.snapshot = new
        self.metrics.declare((rule.id for rule in new.rules.rules), self._watched)
        self.parser.preload = new.rules.source
        self.backfill()
        return True

    def backfill(self) -> BackfillReport | None:
        """Alert what rules new or changed since last loaded would have raised
        on the archive (see Poller.backfill). A backfill never stops polling:
        a failure is logged, and the next load of the rules tries again."""
        try:
            return self.poller.backfill(self.snapshot, now=self.clock())
        except Exception:
            log.exception("backfill failed, tried again when rules are next loaded")
            return None

    def reload_config(self, *, at_once: bool = False) -> FeedChanges | None:
        """Swap in a changed config.toml once settled and valid (see
        Reloader.config); the feeds it changed, which the scheduler then adds,
        removes or reschedules."""
        with self._reload_lock:
            reloaded = self._reloader.config(self.snapshot, at_once=at_once)
            if reloaded is None:
                return None
            self.snapshot, changes = reloaded
        self._redact_secrets()
        self.metrics.declare((), self._watched)
        self.watch.close_unwatched_incidents()
        self.watch.expect_first_polls(
            feed for feed in self.config.feeds if feed.name in {*changes.added, *changes.changed}
        )
        log_config_reload(self.config, changes)
        return changes

    def _redact_secrets(self) -> None:
        """Hide the secrets of the feed URLs of the config now running: from
        the log, and from what older versions stored in the clear."""
        redact_in_logs(self.redactor)
        try:
            self.store.redact_stored(self.redactor.url, self.redactor.text)
        except StateError as exc:
            log.error("cannot redact the feed URLs stored in the state database: %s", exc)

    # --- polling ------------------------------------------------------------

    def poll_feed(self, feed: FeedSettings) -> PollReport:
        """Poll one feed (see Poller.poll)."""
        return self.poller.poll(feed)

    def health(self) -> tuple[bool, dict[str, object]]:
        """For /healthz: can the desk see (see monitor.pipeline.desk_health.desk_health).
        The database is asked first, with a short timeout: one that does not
        answer would hold the read of the feeds' states as long as its pool waits."""
        scheduler_problem = self.scheduler_problem()
        database_problem = self.store.database_problem()
        states: dict[str, FeedState] | None = None
        state_problem = None
        if database_problem is None:
            try:
                states = {state.name: state for state in self.store.feed_states()}
            except StateError as exc:
                state_problem = str(exc)
        verdict = desk_health(
            [feed.name for feed in self.config.feeds],
            states,
            now=self.clock(),
            started_at=self._started_at,
            last_success=self.poller.last_success,
            failing_after=self.config.ops.failing_after,
            scheduler_problem=scheduler_problem,
            state_problem=state_problem,
            delivery_problem=self.token_hold.problem() if self.token_hold else None,
            database_problem=database_problem,
        )
        return verdict.healthy, verdict.body

    def refresh_gauges(self) -> None:
        """Set the gauges /metrics shows (see monitor.pipeline.gauges)."""
        refresh_gauges(self.metrics, self.store, self.config, self._watched, self.clock())

    def prune(self) -> PruneReport:
        """Forget what is older than polling.seen_retention, and archived items
        older than archive.retention (see Store.prune)."""
        now = self.clock()
        return prune_state(
            self.store,
            now - self.config.polling.seen_retention,
            archive_cutoff=now - self.config.archive.retention,
        )

    def start(self) -> None:
        """Get ready to run under a scheduler: start the parser processes, and
        end the incidents of feeds no longer configured."""
        self.parser.start()
        self.watch.close_unwatched_incidents()
        self.backfill()

    def scheduler_stopped(self) -> None:
        """The scheduler is stopping: /healthz and /livez say so from now."""
        self.scheduler_running = False

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

    def poll_all(self, feeds: Sequence[FeedSettings] | None = None) -> list[PollReport]:
        """Poll every feed once, several at a time, fair to every host (a host
        at fetch.per_host holds no thread); reports come back in feed order."""
        targets = list(self.config.feeds if feeds is None else feeds)
        if not targets:
            return []
        try:
            return run_host_fair(
                self.poller.poll,
                targets,
                lambda feed: host_key(feed.url),
                workers=min(self.config.fetch.concurrency, len(targets)),
                per_host=self.config.fetch.per_host,
                name="poll",
            )
        finally:
            self.watch.report_stale_first_reads(force=True)
            self.sync_store()

    def sync_store(self, *, due_only: bool = False, wait: bool = True) -> None:
        """Write what the store has deferred (see Store.sync): all of it, or
        with ``due_only`` what has waited the store's own sync period."""
        self.store.sync(self.store.sync_period if due_only else timedelta(0), wait=wait)

    # --- delivery -----------------------------------------------------------

    @property
    def sink(self) -> Sink:
        """Where alerts go (see Deliverer.sink)."""
        return self.deliverer.sink

    def deliver_due(self) -> DeliveryReport:
        """Send the due alerts of the outbox (see Deliverer.deliver_due)."""
        return self.deliverer.deliver_due()

    def deliver_digest(self, channel: str, digest: str) -> DeliveryReport:
        """Post one channel's digest (see Deliverer.deliver_digest)."""
        return self.deliverer.deliver_digest(channel, digest)

    def check_token(self) -> TokenVerdict | None:
        """Ask whether the destination accepts the token (see TokenGate.check_token)."""
        return self.deliverer.token.check_token()

    @property
    def token_hold(self) -> TokenHold | None:
        """Set while delivery is held because the destination rejects the token."""
        return self.deliverer.token.hold

    def hold_delivery(self, rejected: TokenRejected) -> None:
        """Hold every delivery until the token is accepted (see TokenGate.hold_delivery)."""
        self.deliverer.token.hold_delivery(rejected)

    def close(self) -> None:
        """Report what is pending, then close every part, each whatever the others raise."""
        self.watch.report_stale_first_reads(force=True)  # a stop must not swallow the notice
        with ExitStack() as parts:
            # Closed in reverse: the store last, so that the deferred
            # bookkeeping is written whatever failed before.
            parts.callback(self.store.close)
            parts.callback(self.parser.close)
            parts.callback(self.fetcher.close)
            for source in self.sources.values():
                parts.callback(source.close)
            if self.slack_actions is not None:
                parts.callback(self.slack_actions.close)  # first: its updates read the store
