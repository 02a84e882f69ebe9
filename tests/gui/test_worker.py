"""The one worker: events arrive on the GUI thread in order; errors and cancel are reported."""

import threading

from PySide6.QtCore import QThread

from emostudio.gui.worker import Workers, call


def _counting_job(n, started=None):
    def job(cancel):
        if started is not None:
            started.set()
        for i in range(n):
            if cancel.is_set():
                return "cancelled"
            yield (i, QThread.currentThread())
            cancel.wait(0.01)
        return "done"

    return job


def test_events_and_result_arrive_on_the_gui_thread(qtbot):
    workers = Workers()
    seen, results = [], []
    worker = workers.run(
        _counting_job(5), "count", on_result=results.append, on_progress=seen.append
    )
    with qtbot.waitSignal(worker.finished, timeout=5000):
        pass
    assert [i for i, _ in seen] == [0, 1, 2, 3, 4]
    # the job ran elsewhere, the slots here
    assert all(thread is not QThread.currentThread() for _, thread in seen)
    assert results == ["done"]
    assert workers.active == []


def test_a_failing_job_reports_one_line(qtbot):
    def job(cancel):
        yield 1
        raise ValueError("bad thing\nwith details")

    workers = Workers()
    errors = []
    worker = workers.run(job, "fail", on_error=errors.append)
    with qtbot.waitSignal(worker.finished, timeout=5000):
        pass
    assert errors == ["bad thing"]


def test_cancel_stops_the_job(qtbot):
    started = threading.Event()
    workers = Workers()
    results = []
    worker = workers.run(_counting_job(10_000, started), "long", on_result=results.append)
    assert started.wait(5)
    worker.cancel()
    with qtbot.waitSignal(worker.finished, timeout=5000):
        pass
    assert results == ["cancelled"]


def test_call_wraps_a_plain_function(qtbot):
    workers = Workers()
    results = []
    worker = workers.run(call(sum, [1, 2, 3]), "sum", on_result=results.append)
    with qtbot.waitSignal(worker.finished, timeout=5000):
        pass
    assert results == [6]


def test_a_burst_of_superseding_progress_arrives_as_its_latest_and_before_the_result(qtbot):
    def burst(cancel):
        yield from range(300)
        return "done"

    workers = Workers()
    seen = []
    worker = workers.run(
        burst,
        "burst",
        on_progress=lambda p: seen.append(p),
        on_result=lambda r: seen.append(r),
        latest_progress_only=True,
    )
    with qtbot.waitSignal(worker.finished, timeout=5000):
        pass
    assert seen[-2:] == [299, "done"]  # the last progress, then the result
    assert len(seen) < 300 and seen[:-1] == sorted(seen[:-1])  # fewer, in order
    every = []
    worker = workers.run(burst, "burst", on_progress=every.append)  # the default: every event
    with qtbot.waitSignal(worker.finished, timeout=5000):
        pass
    assert every == list(range(300))


def test_the_window_changes_for_a_job_before_it_runs(qtbot):
    started = threading.Event()
    order = []
    workers = Workers()
    worker = workers.run(
        _counting_job(1, started),
        "count",
        before_start=lambda w: order.append(("before", started.is_set(), w.is_running)),
        after_paint=True,
    )
    assert order == [("before", False, False)]
    assert not started.is_set() and not worker.is_running  # not until the event loop's next pass
    with qtbot.waitSignal(worker.finished, timeout=5000):
        pass
    assert started.is_set()
