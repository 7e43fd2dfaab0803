"""Reactions to the change feed: in order, at least once, one processor per consumer."""

from __future__ import annotations

import pytest

from osler.chronicle.reactions import Reactor
from osler.chronicle.records import Change
from osler.chronicle.store import Chronicle


def patient(family: str) -> dict:
    return {"resourceType": "Patient", "name": [{"family": family}]}


def test_handlers_see_each_change_once_in_order_and_resume(chronicle: Chronicle) -> None:
    seen: list[tuple[str, str]] = []
    reactor = Reactor(chronicle)
    reactor.on(
        "names",
        lambda change, store: seen.append(
            (change.op, store.read(change.res_type, change.res_id).resource["name"][0]["family"])
        ),
        resource_types={"Patient"},
    )
    first = chronicle.create(patient("Ames")).stored
    chronicle.create({"resourceType": "Organization", "name": "Clinic"})
    chronicle.update("Patient", first.res_id, {**first.resource, "name": [{"family": "Amos"}]})
    assert reactor.run_once() == 2
    assert seen == [("create", "Amos"), ("update", "Amos")]
    assert reactor.run_once() == 0
    chronicle.create(patient("Bell"))
    again = Reactor(chronicle)  # a restarted process resumes from the stored cursor
    again.on("names", lambda change, store: seen.append((change.op, change.res_type)), resource_types={"Patient"})
    assert again.run_once() == 0  # the first reactor still holds the lease
    reactor.run_once()
    assert seen[-1] == ("create", "Bell")


def test_a_failing_handler_is_retried_from_the_same_change(chronicle: Chronicle) -> None:
    chronicle.create(patient("Cole"))
    chronicle.create(patient("Dunn"))
    calls: list[int] = []

    def flaky(change: Change, _: Chronicle) -> None:
        calls.append(change.seq)
        if len(calls) == 2:
            raise RuntimeError("downstream unavailable")

    reactor = Reactor(chronicle)
    reactor.on("flaky", flaky)
    with pytest.raises(RuntimeError):
        reactor.run_once()
    reactor.run_once()
    assert calls == [1, 2, 2]
