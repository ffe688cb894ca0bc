"""Where the concrete classes meet: config in, a running Monitor (or one of its parts) out."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from monitor.app import Monitor
from monitor.clock import Clock, utc_now
from monitor.config import (
    LoadedConfig,
    slack_token,
    slack_webhook_url,
)
from monitor.delivery.sinks.base import Sink, SinkSetup
from monitor.delivery.sinks.registry import build_named_sink
from monitor.delivery.sinks.slack import web_client
from monitor.delivery.slack_check import (
    SlackProbe,
    TokenVerdict,
    token_test,
    token_verdict,
    webhook_test,
)
from monitor.interactivity.endpoint import signing_secret
from monitor.pipeline.reload import load_rule_set
from monitor.rules.load import rules_fingerprint
from monitor.sources.base import Source
from monitor.sources.http import FetchLimits, HttpFetcher
from monitor.sources.parser_pool import ParserPool, default_processes
from monitor.sources.registry import SharedParts, build_sources
from monitor.store.factory import open_store


def fetch_limits(loaded: LoadedConfig) -> FetchLimits:
    """The HTTP client's limits, from the config's fetch section."""
    fetch = loaded.config.fetch
    return FetchLimits(
        timeout=fetch.timeout.total_seconds(),
        connect_timeout=fetch.connect_timeout.total_seconds(),
        max_bytes=fetch.max_bytes,
        max_redirects=fetch.max_redirects,
        user_agent=fetch.user_agent,
        per_host=fetch.per_host,
        allow_private=fetch.allowed_private_networks,
    )


def chosen_sink() -> tuple[str, str | None]:
    """The sink the environment chooses, by its registered name, and the
    secret it authenticates with: ``slack`` with SLACK_BOT_TOKEN, else
    ``webhook`` with SLACK_WEBHOOK_URL, else ``console``."""
    token = slack_token()
    if token is not None:
        return "slack", token
    webhook = slack_webhook_url()
    if webhook is not None:
        return "webhook", webhook
    return "console", None


def sink_setup(
    loaded: LoadedConfig, *, secret: str | None = None, console: TextIO | None = None
) -> SinkSetup:
    """What the sink factories need from the config."""
    slack = loaded.config.slack
    return SinkSetup(
        min_interval=slack.min_interval.total_seconds(),
        timeout=slack.timeout.total_seconds(),
        api_url=slack.api_url,
        unfurl_links=slack.unfurl_links,
        secret=secret,
        console=console,
    )


def build_sink(loaded: LoadedConfig, console: TextIO | None = None) -> Sink:
    """Slack with SLACK_BOT_TOKEN, an incoming webhook with SLACK_WEBHOOK_URL,
    else the console."""
    name, secret = chosen_sink()
    return build_named_sink(name, sink_setup(loaded, secret=secret, console=console))


def _slack_probe(loaded: LoadedConfig, token: str) -> SlackProbe:
    slack = loaded.config.slack
    return SlackProbe(web_client(slack.api_url, slack.timeout.total_seconds(), token))


def token_check(loaded: LoadedConfig) -> Callable[[], TokenVerdict] | None:
    """auth.test with SLACK_BOT_TOKEN, through the same API as delivery;
    None without a bot token (an incoming webhook has no auth.test)."""
    token = slack_token()
    if token is None:
        return None
    probe = _slack_probe(loaded, token)
    return lambda: token_verdict(probe.identify())


def slack_test(loaded: LoadedConfig, say: Callable[[str], None]) -> bool | None:
    """Test the Slack delivery the environment sets up: True when it all
    works, False when something fails, None when neither SLACK_BOT_TOKEN
    nor SLACK_WEBHOOK_URL is set."""
    token = slack_token()
    if token is not None:
        return token_test(loaded.config, _slack_probe(loaded, token), say)
    webhook = slack_webhook_url()
    if webhook is not None:
        sink = build_named_sink("webhook", sink_setup(loaded, secret=webhook))
        return webhook_test(loaded.config, sink, say)
    return None


def build_monitor(
    loaded: LoadedConfig,
    *,
    console: TextIO | None = None,
    clock: Clock = utc_now,
    jitter: Callable[[], float] = random.random,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    new_state: bool = False,
) -> Monitor:
    """Build a Monitor from a validated config: rules, state store, HTTP fetcher, sink.

    ``new_state``: start over on purpose where the state database is lost
    (see open_store)."""
    # Taken before loading, so that an edit made while loading is seen later.
    fingerprint = rules_fingerprint(loaded.rules_dir)
    rules = load_rule_set(loaded)
    store = open_store(
        loaded.state_location,
        claim_lease=loaded.config.delivery.claim_lease,
        new_state=new_state,
    )
    processes = loaded.config.fetch.parse_processes
    limits = fetch_limits(loaded)
    parts = SharedParts(
        fetcher=HttpFetcher(limits),
        parser=ParserPool(default_processes() if processes is None else processes),
        limits=limits,
    )
    return Monitor(
        parser=parts.parser,
        loaded=loaded,
        rules=rules,
        store=store,
        fetcher=parts.fetcher,
        sources=build_sources(parts),
        sink=build_sink(loaded, console),
        token_check=token_check(loaded),
        clock=clock,
        jitter=jitter,
        sleep=sleep,
        monotonic=monotonic,
        rules_fingerprint_at_load=fingerprint,
        signing_secret=signing_secret(),
    )


@contextmanager
def replay_readers(loaded: LoadedConfig) -> Iterator[dict[str, Source]]:
    """A source of every type for `monitor replay` and `preview`: a throwaway
    HTTP client with the config's limits, and parsing in this process; all
    closed on leaving."""
    with HttpFetcher(fetch_limits(loaded)) as fetcher:
        parser = ParserPool(0)
        readers = build_sources(SharedParts(fetcher=fetcher, parser=parser))
        try:
            yield readers
        finally:
            for reader in readers.values():
                reader.close()
            parser.close()
