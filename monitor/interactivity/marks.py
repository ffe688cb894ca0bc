"""What a click may do to an alert, and what its post shows afterwards.

Pure: the alert and what the desk said of it in; the buttons still offered,
the lines shown, or why a click is refused, out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from monitor.delivery.message import Mark
from monitor.delivery.render import BUTTONS
from monitor.domain.alert import Alert
from monitor.domain.kinds import FeedbackKind
from monitor.domain.ops import is_ops_alert
from monitor.domain.story import Feedback
from monitor.interactivity.actions import Action, Refusal

MUTE_FOR = timedelta(days=7)
"""How long "Mute this story" keeps the story's later sources out of its thread."""
MUTE_REASON = "muted from Slack"
VERDICTS: frozenset[FeedbackKind] = frozenset({"false-alarm", "not-relevant"})
"""What the desk may conclude of an alert: once one is said, neither is offered again."""


def possible_buttons(alert: Alert) -> tuple[FeedbackKind, ...]:
    """The buttons an alert's top-level post may carry: none on the
    monitor's own alerts about itself, no mute for an alert of no story."""
    if is_ops_alert(alert):
        return ()
    return tuple(kind for kind in BUTTONS if kind != "muted" or alert.story is not None)


def offered_buttons(alert: Alert, marks: Iterable[Mark]) -> tuple[FeedbackKind, ...]:
    """The buttons still worth offering once the desk said ``marks``: each
    goes once used, and both verdicts go once either is given."""
    said = {mark.kind for mark in marks}
    if said & VERDICTS:
        said |= VERDICTS
    return tuple(kind for kind in possible_buttons(alert) if kind not in said)


def marks_of(feedback: Iterable[Feedback]) -> tuple[Mark, ...]:
    """The lines an alert's post shows for its feedback: the first of each
    kind from each member, oldest first; a mute with when it ends."""
    first: dict[tuple[FeedbackKind, str], Feedback] = {}
    for said in sorted(feedback, key=lambda f: (f.at, f.id)):
        first.setdefault((said.kind, said.user_id), said)
    return tuple(
        Mark(
            kind=said.kind,
            user_id=said.user_id,
            user_name=said.user_name,
            at=said.at,
            until=said.at + MUTE_FOR if said.kind == "muted" else None,
        )
        for said in first.values()
    )


def refusal(action: Action, alert: Alert) -> Refusal | None:
    """Why a click cannot apply to this alert, if it cannot (its post never
    had that button), as a 400."""
    if is_ops_alert(alert):
        return Refusal(400, f"alert {action.alert_id} is the monitor's own notice: no buttons")
    if action.kind not in possible_buttons(alert):
        return Refusal(400, f"alert {action.alert_id} belongs to no story to mute")
    return None


def said_before(action: Action, feedback: Iterable[Feedback]) -> bool:
    """Whether the member already said this of the alert (a second click,
    or the same request again): it is recorded once."""
    return any(
        f.alert_id == action.alert_id and f.kind == action.kind and f.user_id == action.user_id
        for f in feedback
    )
