"""The renderer's machinery for running chapters: Jupyter kernels started once per run, each
with a worker thread that runs the chapters sent to it (:class:`Kernels`), and daemon worker
threads for other work, such as a batch's writing of each area's files (:class:`Pool`), that an
interrupted run does not wait for."""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import Future
from pathlib import Path

from .params import ReportError

__all__ = ["WARM_UP", "Kernels", "Pool", "transport", "warm_up", "clean"]


#: What every kernel imports as soon as it starts, while the renderer loads the data: the
#: modules the chapters use (imported modules stay between chapters; variables do not).
WARM_UP = (
    "import matplotlib.pyplot, dispro.report.sections, dispro.pathway, dispro.models, "
    "dispro.readers.quality, dispro.stopsearch.scrutiny, dispro.stopsearch.change, "
    "dispro.stopsearch.darkness_areas"
)


class Kernels:
    """Jupyter kernels started once and reused by the chapters of one run (or of a batch), each
    served by a worker thread of its own.

    Starting a kernel and importing the scientific stack costs about 2 seconds; a report has 7
    chapters and a batch 28. The kernels start, and import :data:`WARM_UP`, while the data are
    loaded. Each chapter still runs in a clean namespace: the kernel's variables are cleared and
    open figures closed before it starts (imported modules stay, and so do their caches).

    :meth:`submit` queues a call ``fn(*args, km=kernel)``. A call given a ``key`` (the
    renderer gives the chapter's name) goes back to the kernel that last ran a call with that
    key, in the order submitted: a chapter's second run, after the suppression is solved, and
    the same chapter of the other areas of a batch find the caches its first run filled (the
    sun times of every stop and day, the census tables). A kernel with nothing of its own to
    run takes the others' calls, the last queued first, so that no kernel waits while work is
    queued. Which kernel runs a call changes nothing in its result: the namespace is cleared,
    and a cache returns what the call would compute.
    """

    def __init__(self, n: int, cwd: Path, private: Path):
        self.size = n
        self.cwd = cwd
        self.private = private  # the kernels' connection files (their keys): the run's own
        self._kernels: list = []
        self._warming: list[threading.Thread] = []
        self._jobs: list[tuple] = []  # (future, fn, args, key), in the order submitted
        self._home: dict = {}  # key -> index of the kernel that last ran it
        self._ready = threading.Condition()
        self._closing = False
        self._stopped = threading.Event()
        self._workers: list[threading.Thread] = []
        self._started = 0

    def __enter__(self):
        for _ in range(self.size):
            self._kernels.append(self._start())
        for km in self._kernels:  # in the background: the imports run while the data are loaded
            thread = threading.Thread(target=warm_up, args=(km,), daemon=True)
            thread.start()
            self._warming.append(thread)
        for i in range(self.size):
            worker = threading.Thread(target=self._work, args=(i,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def submit(self, fn, *args, key=None) -> Future:
        """Queue ``fn(*args, km=kernel)``; its future. ``key`` names the call for the kernel
        affinity (see the class); ``None``: any kernel."""
        future: Future = Future()
        with self._ready:
            self._jobs.append((future, fn, args, key))
            self._ready.notify_all()
        return future

    def _next(self, i: int):
        """The next call for kernel ``i`` (``None`` once closed and nothing is left): its own
        first, else one nobody has run, else the last queued of another kernel's."""
        with self._ready:
            while True:
                if self._stopped.is_set():
                    return None
                if self._jobs:
                    homes = [self._home.get(job[3]) for job in self._jobs]
                    pick = next((j for j, h in enumerate(homes) if h == i), None)
                    if pick is None:
                        pick = next((j for j, h in enumerate(homes) if h is None), None)
                    if pick is None:
                        pick = len(self._jobs) - 1
                    return self._jobs.pop(pick)
                if self._closing:
                    return None
                self._ready.wait()

    def _work(self, i: int) -> None:
        while (job := self._next(i)) is not None:
            future, fn, args, key = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = self._run(i, fn, args)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                self._ran(key, i)
                future.set_exception(exc)
            else:
                self._ran(key, i)
                future.set_result(result)

    def _ran(self, key, i: int) -> None:
        """Kernel ``i`` ran ``key`` (noted before the caller learns that the call ended)."""
        if key is not None:
            with self._ready:
                self._home[key] = i

    def _run(self, i: int, fn, args):
        warming = self._warming[i]
        while warming.is_alive() and not self._stopped.is_set():
            warming.join(0.2)
        if self._stopped.is_set():
            raise ReportError("the run was interrupted")
        km = self._kernels[i]
        if not km.is_alive():  # a chapter crashed its kernel: start another
            with contextlib.suppress(Exception):  # its connection file and sockets removed
                km.shutdown_kernel(now=True)
            km = self._kernels[i] = self._start()
        clean(km)
        return fn(*args, km=km)

    def run(self, fn, *args):
        """``fn(*args, km=kernel)`` on the next free kernel, waiting for it (:meth:`submit`
        and the result)."""
        return self.submit(fn, *args).result()

    def close(self, *, wait: bool = True) -> None:
        """Let the workers end once the queued calls are done (``wait`` for them)."""
        with self._ready:
            self._closing = True
            self._ready.notify_all()
        if wait:
            for worker in self._workers:
                worker.join()

    def stop(self) -> None:
        """Cancel the queued calls and stop every kernel now (a chapter running in one fails
        at once)."""
        with self._ready:
            self._stopped.set()
            for future, *_ in self._jobs:
                future.cancel()
            self._jobs.clear()
            self._ready.notify_all()
        for km in list(self._kernels):
            try:
                km.shutdown_kernel(now=True)
            except Exception:  # pragma: no cover - a kernel that is already gone
                pass

    def _start(self):
        from jupyter_client.manager import KernelManager

        self._started += 1
        connection = self.private / f"kernel-{self._started}-{id(self)}.json"
        km = KernelManager(
            kernel_name="python3",
            connection_file=str(connection),
            transport=transport(connection),
        )
        km.start_kernel(cwd=str(self.cwd))
        return km


def transport(connection: Path) -> str:
    """How the renderer talks to its kernels: ``"ipc"``, sockets that are files beside the
    connection file in the run's private folder (mode 0700), where the system has them and
    their paths fit (a socket path holds at most 107 bytes); else ``"tcp"`` on localhost,
    where the kernel warns that its messages are not encrypted (it is then right to).

    >>> transport(Path("/tmp/dispro-1-x/kernel-0-1.json")) == ("ipc" if os.name == "posix" else "tcp")
    True
    >>> transport(Path("/" + "d" * 120 + "/kernel-0-1.json"))
    'tcp'
    """
    return "ipc" if os.name == "posix" and len(os.fsencode(connection)) <= 90 else "tcp"


def warm_up(km) -> None:
    """Import :data:`WARM_UP` in a kernel (a failure is left to the first chapter to report)."""
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        kc.execute_interactive(
            WARM_UP, timeout=300, store_history=False, output_hook=lambda m: None
        )
    except Exception:  # noqa: BLE001 - the chapter's own imports will say what is wrong
        pass
    finally:
        kc.stop_channels()


def clean(km) -> None:
    """Clear the kernel's namespace and close its figures before the next chapter.

    Only the reply on the shell channel is awaited (a message there waits for the connection),
    so the client need not wait for the kernel's broadcasts to reach it first.
    """
    kc = km.client()
    kc.start_channels()
    try:
        kc.execute(
            "get_ipython().run_line_magic('reset', '-f')\n"
            "import sys as _s\n"
            "if 'matplotlib.pyplot' in _s.modules: _s.modules['matplotlib.pyplot'].close('all')\n"
            "del _s",
            store_history=False,
            reply=True,
            timeout=120,
        )
    finally:
        kc.stop_channels()


class Pool:
    """Daemon worker threads running submitted calls; unlike a ``ThreadPoolExecutor``, an
    interrupted run does not wait for the chapters still running (their kernels are stopped)."""

    def __init__(self, n: int):
        import queue

        self._jobs: queue.Queue = queue.Queue()
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(n)]
        for t in self._threads:
            t.start()

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        self._jobs.put((future, fn, args))
        return future

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn, args = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                    future.set_exception(exc)

    def close(self, *, wait: bool, cancel: bool = False) -> None:
        """Stop the threads once they are idle: after the queued calls, or (``cancel``) with
        the queued calls cancelled; ``wait`` for them."""
        import queue

        if cancel:
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[0].cancel()
        for _ in self._threads:
            self._jobs.put(None)
        if wait:
            for t in self._threads:
                t.join()
