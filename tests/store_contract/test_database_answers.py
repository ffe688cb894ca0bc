"""Whether the state database answers now, as /healthz asks it
(Maintenance.database_problem). Run on every store; each store's own ways
of failing (a file deleted, a server cut off) are in
tests/test_database_problem.py."""

from __future__ import annotations

from tests.store_contract.conftest import OpenStore


def test_a_database_that_answers_has_no_problem_and_asking_writes_nothing(
    open_store: OpenStore,
) -> None:
    store = open_store()
    assert store.database_problem() is None
    assert store.database_problem() is None, "asked again: still none"
    assert store.feed_states() == [] and store.outbox_counts()["pending"] == 0


def test_a_closed_store_says_its_database_does_not_answer_and_does_not_raise(
    open_store: OpenStore,
) -> None:
    store = open_store()
    store.close()
    problem = store.database_problem()
    assert problem is not None and "state database" in problem, problem
