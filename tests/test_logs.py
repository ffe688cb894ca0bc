"""The Slack token never reaches a log line, tracebacks included."""

from __future__ import annotations

import logging

import pytest

from monitor.logs import RedactingFormatter, setup_logging


def test_secret_values_are_redacted_from_messages_and_tracebacks() -> None:
    formatter = RedactingFormatter("%(message)s", ["xoxb-1234-secret\n"])
    try:
        raise RuntimeError("request with xoxb-1234-secret refused")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "auth with %s failed",
            ("xoxb-1234-secret",),
            sys.exc_info(),
        )
    line = formatter.format(record)
    assert "xoxb-1234-secret" not in line
    assert line.startswith("auth with [redacted] failed")
    assert "RuntimeError: request with [redacted] refused" in line


def test_setup_logging_redacts_the_token_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup_logging("INFO")
        logging.getLogger("monitor.test").error("token is xoxb-from-the-environment")
        assert "token is [redacted]" in capsys.readouterr().err
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_json_log_lines_carry_level_logger_message_and_redact_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-json-secret-token")
    setup_logging("INFO", "json")
    logging.getLogger("monitor.test").warning("feed=x uses xoxb-json-secret-token")
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"], record["message"]) == (
        "WARNING",
        "monitor.test",
        "feed=x uses [redacted]",
    )
    assert record["time"].endswith("+00:00")
