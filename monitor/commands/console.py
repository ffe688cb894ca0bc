"""What every command shares: where it writes, and the exit codes it returns."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TextIO

from monitor.errors import Problem


class ExitCode(IntEnum):
    """The documented exit codes of every command."""

    OK = 0
    PROBLEMS = 1
    """The command ran but found problems: a feed failed, a check failed, a
    replay source failed, an eval threshold was not met."""
    UNUSABLE = 2
    """It could not start: bad arguments, an invalid config, rules or corpus,
    unusable state, a Slack token Slack rejects at the start of `run`."""
    DELIVERY_HELD = 3
    """`once` polled but held delivery because Slack rejects the token."""


@dataclass(frozen=True)
class Console:
    """Where a command writes: results to ``out``, notices and problems to ``err``."""

    out: TextIO
    err: TextIO

    @classmethod
    def standard(cls) -> Console:
        """The process's stdout and stderr as they are now (tests replace them)."""
        return cls(sys.stdout, sys.stderr)

    def say(self, text: str = "", *, flush: bool = False) -> None:
        """One line of the command's result."""
        print(text, file=self.out, flush=flush)

    def warn(self, text: str) -> None:
        """One line for the person running it: a notice or a problem."""
        print(text, file=self.err)

    def problems(self, problems: Sequence[Problem], *, to_out: bool = False) -> None:
        """Each problem as ``file:line: message``, on stderr unless ``to_out``."""
        stream = self.out if to_out else self.err
        for problem in problems:
            print(problem, file=stream)
