"""Tests of dispro.report._kernels: which kernel runs which chapter (affinity, work stealing),
a dead kernel replaced, queued calls cancelled on stop. Fake kernels: no Jupyter started."""

from __future__ import annotations

import threading
import time

import pytest

from dispro.report import _kernels
from dispro.report._kernels import Kernels
from dispro.report.params import ReportError


class FakeKernel:
    def __init__(self, number: int):
        self.number = number
        self.alive = True
        self.shut = False

    def is_alive(self) -> bool:
        return self.alive

    def shutdown_kernel(self, now: bool = False) -> None:
        self.shut = True


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """Kernels whose kernels are :class:`FakeKernel` (numbered in the order started)."""
    started: list[FakeKernel] = []

    def start(self):
        started.append(FakeKernel(len(started)))
        return started[-1]

    monkeypatch.setattr(Kernels, "_start", start)
    monkeypatch.setattr(_kernels, "warm_up", lambda km: None)
    monkeypatch.setattr(_kernels, "clean", lambda km: None)
    return lambda n: Kernels(n, tmp_path, tmp_path), started


def which(name, *, km):
    return name, km.number


def held(gate, name, *, km):
    assert gate.wait(10)
    return name, km.number


def hold_each(kernels, n: int) -> dict:
    """Hold each of the ``n`` kernels with a call of no key; kernel number -> its gate."""
    gates = {k: threading.Event() for k in range(n)}
    holding: list[int] = []

    def hold(*, km):
        holding.append(km.number)
        assert gates[km.number].wait(10)

    for _ in range(n):
        kernels.submit(hold)
    while len(holding) < n:
        time.sleep(0.01)
    return gates


def wait_running(future) -> None:
    while not future.running():
        time.sleep(0.01)


def test_a_keyed_call_goes_back_to_the_kernel_that_ran_its_key(fake):
    make, _ = fake
    with make(2) as kernels:
        # first pass: kernel 0, freed first, takes the first call queued; kernel 1 the others
        gates, done = hold_each(kernels, 2), threading.Event()
        long = kernels.submit(held, done, "long", key="long")
        short = [kernels.submit(which, f"c{i}", key=f"c{i}") for i in range(4)]
        gates[0].set()
        wait_running(long)
        gates[1].set()
        assert [f.result() for f in short] == [(f"c{i}", 1) for i in range(4)]
        done.set()
        assert long.result() == ("long", 0)
        # second pass, the long call queued last: kernel 0, freed first, takes it all the same
        gates, done = hold_each(kernels, 2), threading.Event()
        short = [kernels.submit(which, f"c{i}", key=f"c{i}") for i in range(4)]
        long = kernels.submit(held, done, "long", key="long")
        gates[0].set()
        wait_running(long)
        gates[1].set()
        assert [f.result() for f in short] == [(f"c{i}", 1) for i in range(4)]
        done.set()
        assert long.result() == ("long", 0)


def test_the_picking_rule(fake):
    """Own calls first (in the order queued), then calls no kernel has run, then the last
    queued call of another kernel."""
    make, _ = fake
    kernels = make(2)  # not entered: no worker takes the queued calls
    kernels._home = {"a": 0, "b": 1, "c": 0, "d": 1}
    for key in ["b", "new", "a", "d", "c"]:
        kernels.submit(which, key, key=key)
    assert [kernels._next(0)[3] for _ in range(2)] == ["a", "c"]
    assert kernels._next(0)[3] == "new"
    assert kernels._next(0)[3] == "d"  # the last queued of kernel 1's, stolen
    assert kernels._next(1)[3] == "b"
    assert kernels._jobs == []


def test_every_call_runs_once_with_its_result_or_error(fake):
    make, _ = fake

    def boom(*, km):
        raise ReportError("boom")

    with make(2) as kernels:
        futures = [kernels.submit(which, i, key=i % 3) for i in range(20)]
        failing = kernels.submit(boom)
        assert sorted(f.result()[0] for f in futures) == list(range(20))
        with pytest.raises(ReportError, match="boom"):
            failing.result()
        assert kernels.run(which, "direct")[0] == "direct"


def test_a_dead_kernel_is_replaced(fake):
    make, started = fake
    with make(1) as kernels:
        assert kernels.submit(which, "x").result() == ("x", 0)
        started[0].alive = False
        assert kernels.submit(which, "y").result() == ("y", 1)
        assert kernels.submit(which, "z").result() == ("z", 1)
    assert all(k.shut for k in started)


def test_stop_cancels_the_queued_calls_and_stops_the_kernels(fake):
    make, started = fake
    gate = threading.Event()

    def held(*, km):
        gate.wait(5)
        return "held"

    kernels = make(1).__enter__()
    running = kernels.submit(held)
    while not running.running():
        time.sleep(0.01)
    queued = [kernels.submit(which, i) for i in range(3)]
    kernels.stop()
    gate.set()
    assert all(f.cancelled() for f in queued)
    assert running.result(timeout=5) == "held"
    assert started[0].shut
    with pytest.raises(ReportError, match="interrupted"):
        # a call already taken when the run stops is refused, not run
        kernels._stopped.set()
        kernels._run(0, which, ("late",))
