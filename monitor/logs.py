"""Logging set-up: readable lines on stderr, with secrets redacted."""

from __future__ import annotations

import logging
import os

SECRET_ENV_VARS = ("SLACK_BOT_TOKEN",)


class RedactSecrets(logging.Filter):
    """Replaces any secret's value in a log message; a last line of defence
    against a library or an exception message echoing the token."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            if any(secret in message for secret in self._secrets):
                for secret in self._secrets:
                    message = message.replace(secret, "[redacted]")
                record.msg, record.args = message, None
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets([os.environ.get(name, "") for name in SECRET_ENV_VARS]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Library chatter (every APScheduler job run, every HTTP request) drowns the
    # one line per poll that operators read.
    for noisy in ("apscheduler", "httpx", "httpcore", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
