"""Logging set-up: readable lines on stderr, with secrets redacted."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime

SECRET_ENV_VARS = ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")


class RedactingFormatter(logging.Formatter):
    """Replaces secrets in the finished line, tracebacks included: a last line
    of defence against a library or an exception message echoing the token."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in (value.strip() for value in secrets) if len(s) >= 8]

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self._secrets:
            line = line.replace(secret, "[redacted]")
        return line


class JsonFormatter(RedactingFormatter):
    """One JSON object per line, for log shippers; secrets redacted the same way."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        line = json.dumps(data, ensure_ascii=False)
        for secret in self._secrets:
            line = line.replace(secret, "[redacted]")
        return line


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
