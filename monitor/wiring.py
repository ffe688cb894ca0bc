"""Where the concrete classes meet: config in, a running Monitor (or one of its parts) out."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TextIO, TypeVar

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from monitor.app import Clock, Monitor, utc_now
from monitor.config import (
    LoadedConfig,
    slack_token,
    slack_webhook_url,
)
from monitor.delivery.sinks import ConsoleSink, Sink, SlackSink, WebhookSink
from monitor.delivery.slack_check import (
    token_check,
)
from monitor.pipeline.reload import load_rule_set
from monitor.rules.load import rules_fingerprint
from monitor.sources.http import FetchLimits, HttpFetcher
from monitor.sources.parser_pool import ParserPool, default_processes
from monitor.store.sqlite import SQLiteStore

T = TypeVar("T")


def fetch_limits(loaded: LoadedConfig) -> FetchLimits:
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


def build_sink(loaded: LoadedConfig, console: TextIO | None = None) -> Sink:
    """Slack with SLACK_BOT_TOKEN, an incoming webhook with SLACK_WEBHOOK_URL,
    else the console."""
    slack = loaded.config.slack
    interval = slack.min_interval.total_seconds()
    timeout = int(slack.timeout.total_seconds())
    token = slack_token()
    if token is not None:
        # No retry handlers: the outbox retries, and slack-sdk's connection
        # retry would re-post a message Slack may already have accepted.
        client = WebClient(token=token, base_url=slack.api_url, timeout=timeout, retry_handlers=[])
        return SlackSink(client, unfurl_links=slack.unfurl_links, min_interval=interval)
    webhook = slack_webhook_url()
    if webhook is not None:
        return WebhookSink(
            WebhookClient(webhook, timeout=timeout, retry_handlers=[]), min_interval=interval
        )
    return ConsoleSink(console)


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
    """Build a Monitor from a validated config: rules, SQLite state, HTTP fetcher, sink.

    ``new_state``: start over on purpose where the state database is lost
    (see SQLiteStore)."""
    # Taken before loading, so that an edit made while loading is seen later.
    fingerprint = rules_fingerprint(loaded.rules_dir)
    rules = load_rule_set(loaded)
    store = SQLiteStore(
        loaded.state_path, claim_lease=loaded.config.delivery.claim_lease, new_state=new_state
    )
    processes = loaded.config.fetch.parse_processes
    return Monitor(
        parser=ParserPool(default_processes() if processes is None else processes),
        loaded=loaded,
        rules=rules,
        store=store,
        fetcher=HttpFetcher(fetch_limits(loaded)),
        sink=build_sink(loaded, console),
        token_check=token_check(loaded),
        clock=clock,
        jitter=jitter,
        sleep=sleep,
        monotonic=monotonic,
        rules_fingerprint_at_load=fingerprint,
    )
