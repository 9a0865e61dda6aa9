"""studio.jobs: the one loop that drives every job generator, and the pause/cancel handle."""
import threading
import time

import pytest

from studio.jobs import Cancelled, JobControl, drive


def _job(steps, log, control=None):
    try:
        for i in range(steps):
            if control is not None:
                control.checkpoint()
            yield {"step": i}
        return f"done after {steps}"
    finally:
        log.append("closed")


def test_drive_returns_the_result_and_shows_every_progress():
    seen, log = [], []
    assert drive(_job(3, log), on_progress=seen.append) == "done after 3"
    assert seen == [{"step": 0}, {"step": 1}, {"step": 2}] and log == ["closed"]


def test_a_cancel_stops_even_a_job_that_forgets_its_checkpoints():
    control, log, seen = JobControl(), [], []

    def cancel_after_first(item):
        seen.append(item)
        control.cancel()

    with pytest.raises(Cancelled):
        drive(_job(10, log), control, cancel_after_first)  # the job itself never checks `control`
    assert seen == [{"step": 0}] and log == ["closed"]  # stopped after one step, its finally ran


def test_a_paused_job_waits_until_resumed():
    control, log, seen = JobControl(), [], []
    control.pause()
    done = []
    t = threading.Thread(target=lambda: done.append(drive(_job(2, log, control), control, seen.append)))
    t.start()
    time.sleep(0.3)
    assert seen == [] and not done  # nothing ran while paused
    control.resume()
    t.join(5)
    assert done == ["done after 2"] and len(seen) == 2


def test_an_error_in_the_job_propagates_and_closes_it():
    def broken(log):
        try:
            yield 1
            raise ValueError("bad step")
        finally:
            log.append("closed")

    log = []
    with pytest.raises(ValueError, match="bad step"):
        drive(broken(log))
    assert log == ["closed"]
