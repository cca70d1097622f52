"""Who the API serves next (services/admission.py): each model one request at a time, the
others in the order they came, a bounded queue that refuses at once when full."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from desktop.engine.cancellation import Cancellation
from desktop.errors import ServerBusy, WaitCancelled
from desktop.services.admission import FIRST_RETRY_AFTER_S, Admission, AdmissionState, Ticket

WAIT_S = 30.0


def started(ticket: Ticket) -> bool:
    return ticket.started_at is not None


def test_a_free_model_serves_at_once_a_busy_one_queues() -> None:
    admission = Admission(capacity=4)
    first = admission.enter("a")
    second = admission.enter("a")
    other = admission.enter("b")  # another model is not held up by a's queue
    assert started(first) and not started(second) and started(other)
    assert admission.state() == AdmissionState(waiting=1, running=2)
    first.leave()
    assert started(second)
    assert admission.state() == AdmissionState(waiting=0, running=2)


def test_the_queue_is_served_in_the_order_it_came() -> None:
    admission = Admission(capacity=8)
    running = admission.enter("a")
    waiting = [admission.enter("a") for _ in range(5)]
    for ticket in waiting:
        running.leave()
        assert started(ticket)  # the first in line, and it alone
        assert not any(started(later) for later in waiting[waiting.index(ticket) + 1 :])
        running = ticket


def test_a_full_queue_refuses_at_once_with_when_to_try_again() -> None:
    admission = Admission(capacity=1)
    admission.enter("a")
    admission.enter("a")
    with pytest.raises(ServerBusy) as busy:
        admission.enter("a")
    assert busy.value.retry_after_s == FIRST_RETRY_AFTER_S
    assert "1 requests are being served and 1 wait" in busy.value.message


def test_a_waiting_request_waits_for_its_turn_and_a_cancel_ends_the_wait() -> None:
    admission = Admission(capacity=2)
    running = admission.enter("a")
    patient, impatient = admission.enter("a"), admission.enter("a")
    stop = Cancellation()
    with ThreadPoolExecutor(2) as pool:
        served = pool.submit(patient.wait, Cancellation())
        given_up = pool.submit(impatient.wait, stop)
        stop.set()
        with pytest.raises(WaitCancelled):
            given_up.result(WAIT_S)
        impatient.leave()
        assert admission.state() == AdmissionState(waiting=1, running=1)
        running.leave()
        served.result(WAIT_S)  # its turn came
    assert admission.wait_until(lambda s: s == AdmissionState(0, 1), WAIT_S)


def test_leaving_twice_gives_back_one_place() -> None:
    admission = Admission(capacity=1)
    ticket = admission.enter("a")
    ticket.leave()
    ticket.leave()
    assert admission.state() == AdmissionState(0, 0)


def test_wait_until_wakes_on_a_change_from_another_thread() -> None:
    admission = Admission()
    entered = threading.Thread(target=admission.enter, args=("a",))
    entered.start()
    assert admission.wait_until(lambda s: s.running == 1, WAIT_S)
    entered.join()
