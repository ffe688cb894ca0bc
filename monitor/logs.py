"""Logging set-up: readable lines on stderr, with secrets redacted: the
Slack credentials from the environment, and the secrets of feed URLs."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime

from monitor.redact import Redactor

SECRET_ENV_VARS = ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SLACK_SIGNING_SECRET")

_feed_secrets = Redactor()
"""Hides the secrets of the config's feed URLs (by their shape until a
config is read, see redact_in_logs)."""


def redact_in_logs(redactor: Redactor) -> None:
    """Hide the secrets ``redactor`` knows (a config's feed URLs) from every
    log line from now on: the last line of defence, should a message or a
    library's error quote a feed URL."""
    global _feed_secrets
    _feed_secrets = redactor


class RedactingFormatter(logging.Formatter):
    """Replaces secrets in the finished line, tracebacks included: a last line
    of defence against a library or an exception message echoing the token."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in (value.strip() for value in secrets) if len(s) >= 8]

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return _feed_secrets.text(text)


class JsonFormatter(RedactingFormatter):
    """One JSON object per line, for log shippers; secrets redacted the same way."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            # Before quoting too: JSON escapes could hide a secret's characters.
            "message": self.redact(record.getMessage()),
        }
        if record.exc_info:
            data["exception"] = self.redact(self.formatException(record.exc_info))
        return self.redact(json.dumps(data, ensure_ascii=False))


def setup_logging(level: str = "INFO", log_format: str = "text") -> None:
    secrets = [os.environ.get(name, "") for name in SECRET_ENV_VARS]
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter("%(message)s", secrets))
    else:
        handler.setFormatter(
            RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", secrets)
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Library chatter (every APScheduler job run, every HTTP request) drowns the
    # one line per poll that operators read.
    for noisy in ("apscheduler", "urllib3", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # slack-sdk logs each request that fails as an ERROR before raising; the
    # monitor reports the same failure in its own words, at the level it
    # deserves (a WARNING for a Slack outage it retries through).
    logging.getLogger("slack_sdk.web.base_client").setLevel(logging.CRITICAL)
