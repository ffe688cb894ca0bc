"""Delivery held while Slack rejects the token: one ERROR when it starts,
every alert left pending meanwhile, Slack asked again now and then, and
delivery resumed once it accepts the token.

When to ask again is a pure decision (:func:`token_recheck_due`);
:class:`TokenGate` keeps the hold and asks through the check it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.delivery.ports import Level
from monitor.delivery.slack_check import (
    Identity,
    TokenRejected,
    TokenUnverified,
    TokenVerdict,
)

log = logging.getLogger("monitor")

TOKEN_RECHECK_EVERY = timedelta(minutes=5)
"""While Slack rejects the token, how often `monitor run` asks it again."""


@dataclass(frozen=True)
class TokenHold:
    """Delivery held because Slack rejects the token: why, since when, and
    when Slack was last asked."""

    reason: str
    since: datetime
    checked_at: datetime

    def problem(self) -> str:
        """The hold as /healthz names it."""
        return (
            f"delivery held since {self.since.isoformat(timespec='seconds')}: {self.reason}; "
            "alerts wait in the outbox"
        )


def token_recheck_due(
    hold: TokenHold, now: datetime, every: timedelta = TOKEN_RECHECK_EVERY
) -> bool:
    """Whether to ask Slack about a rejected token again."""
    return now - hold.checked_at >= every


class TokenGate:
    """Whether delivery may go on as far as the token goes, and the hold
    while it may not."""

    def __init__(
        self,
        *,
        check: Callable[[], TokenVerdict] | None,
        clock: Callable[[], datetime],
        rejected: Level,
    ) -> None:
        """``check``: asks Slack whether it accepts the token (auth.test),
        None where there is no token to ask about; ``rejected``: the gauge
        that shows the hold."""
        self._check = check
        self._clock = clock
        self._rejected = rejected
        self._hold: TokenHold | None = None

    @property
    def hold(self) -> TokenHold | None:
        """Set while delivery is held because Slack rejects the token."""
        return self._hold

    def check_token(self) -> TokenVerdict | None:
        """Ask Slack whether it accepts the token, before the first delivery;
        None without a token to ask about. Slack out of reach is only a
        warning: an outage must not stop the monitor."""
        if self._check is None:
            return None
        verdict = self._check()
        if isinstance(verdict, TokenUnverified):
            log.warning(
                "cannot check the Slack token (%s); going on, delivery retries as usual",
                verdict.detail,
            )
        elif isinstance(verdict, Identity):
            log.info("Slack accepts the token: workspace %s, bot %s", verdict.team, verdict.user)
        return verdict

    def hold_delivery(self, rejected: TokenRejected) -> None:
        """Hold every delivery: Slack rejects the token. Said once, not per alert."""
        if self._hold is not None:
            return
        now = self._clock()
        self._hold = TokenHold(str(rejected), since=now, checked_at=now)
        self._rejected.set(1)
        log.error(
            "delivery held: %s; every alert stays in the outbox, pending, and goes out "
            "once Slack accepts the token (monitor slack-test checks it)",
            rejected,
        )

    def held(self, now: datetime) -> bool:
        """True while Slack rejects the token; asks it again now and then."""
        hold = self._hold
        if hold is None:
            return False
        if not token_recheck_due(hold, now):
            return True
        verdict = self._check() if self._check is not None else None
        if isinstance(verdict, TokenRejected | TokenUnverified):
            self._hold = replace(hold, checked_at=now)
            return True
        self._hold = None
        self._rejected.set(0)
        # Without a check, the next post is the test, and holds again if refused.
        log.info(
            "delivery resumes: %s",
            "Slack accepts the token again" if verdict else "trying the token again",
        )
        return False
