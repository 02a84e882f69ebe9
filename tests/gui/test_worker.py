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
