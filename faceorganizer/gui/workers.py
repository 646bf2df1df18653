"""Running core work off the GUI thread: generator jobs, the one edit thread, and a stall meter.

- :class:`Job` runs a core job (a generator of progress ticks, or a plain call) in its own ``QThread``. Ticks
  reach the GUI as snapshots at most every ``interval`` seconds (time-budgeted, the latest wins); the job's
  result, its exception (the object itself, traceback attached) or its cancellation arrive once at the end.
  Every yield of a job is its cancellation point: :meth:`Job.cancel` sets the ``threading.Event`` the job
  checks, and the job finishes on its own terms (an import writes its last batch and stops).
- :class:`EditQueue` is the single background thread through which every Library write goes, in order.
- :class:`StallMeter` measures the longest gap of a 10 ms timer: how long the GUI thread was blocked.

Workers never touch widgets; they only emit signals carrying plain data.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QElapsedTimer, QObject, QThread, QTimer, Qt, Signal

log = logging.getLogger("faceorganizer.gui")

#: Jobs and edit threads currently alive, so shutdown (and the tests) can wait for all of them.
_LIVE: weakref.WeakSet = weakref.WeakSet()


#: Set once the native libraries are loaded (``gui.main``); an import waits for it, so that its worker never
#: imports them itself (GIL-holding initialisers would freeze the window).
RUNTIMES_READY = threading.Event()


def snapshot(item: Any) -> Any:
    """A copy of a progress tick safe to hand to another thread (jobs keep mutating their own)."""
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        if getattr(type(item), "__dataclass_params__").frozen:
            return item
        out = copy.copy(item)
        for f in dataclasses.fields(item):
            value = getattr(item, f.name)
            if isinstance(value, (list, dict, set)):
                object.__setattr__(out, f.name, copy.copy(value))
        return out
    if isinstance(item, (list, dict, set)):
        return copy.copy(item)
    return item


class _JobThread(QThread):
    tick = Signal(object)
    done = Signal(object)
    error = Signal(object)

    def __init__(self, fn: Callable[[], Any], cancel: threading.Event, interval: float) -> None:
        super().__init__()
        self.fn = fn
        self.cancel_event = cancel
        self.interval = interval

    def run(self) -> None:  # noqa: D102 - runs in the worker thread
        try:
            result = self.fn()
            if isinstance(result, Iterator):
                last: Any = None
                sent = 0.0
                for item in result:
                    last = item
                    now = time.monotonic()
                    if now - sent >= self.interval:
                        sent = now
                        self.tick.emit(snapshot(item))
                result = snapshot(last)
            self.done.emit(result)
        except BaseException as exc:  # forwarded as the exception object, never swallowed
            log.debug("job failed", exc_info=True)
            self.error.emit(exc)


class Job(QObject):
    """One core job running in a worker thread. Create with :func:`start_job`.

    Signals (all delivered on the GUI thread): ``progress(tick)`` at most every ``interval`` seconds,
    then exactly one of ``finished(result)`` (the return value, or the last tick of a generator),
    ``failed(exception)``, ``cancelled(last tick)``; ``ended()`` always comes last.
    """

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal(object)
    ended = Signal()

    def __init__(self, name: str, fn: Callable[[threading.Event], Any], *, interval: float = 0.1,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.cancel_event = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.running = False
        self._thread = _JobThread(lambda: fn(self.cancel_event), self.cancel_event, interval)
        self._thread.tick.connect(self.progress, Qt.ConnectionType.QueuedConnection)
        self._thread.done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
        self._thread.error.connect(self._on_error, Qt.ConnectionType.QueuedConnection)

    def start(self) -> Job:
        self.running = True
        _LIVE.add(self)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the job to stop at its next cancellation point (not an error; ``cancelled`` follows)."""
        self.cancel_event.set()

    @property
    def is_cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def wait(self, ms: int = 30_000) -> bool:
        """Block until the worker thread ended (shutdown and tests only); queued signals still pending."""
        return self._thread.wait(ms)

    def _finish(self) -> None:
        self._thread.wait()
        self.running = False
        _LIVE.discard(self)
        self.ended.emit()

    def _on_done(self, result: Any) -> None:
        self.result = result
        stage = getattr(result, "stage", None)
        if self.cancel_event.is_set() or stage == "cancelled":
            self.cancelled.emit(result)
        else:
            self.finished.emit(result)
        self._finish()

    def _on_error(self, exc: BaseException) -> None:
        self.error = exc
        self.failed.emit(exc)
        self._finish()


def start_job(name: str, fn: Callable[[threading.Event], Any], *, interval: float = 0.1,
              parent: QObject | None = None) -> Job:
    """Run ``fn(cancel_event)`` (a generator function or a plain function) in a worker thread."""
    return Job(name, fn, interval=interval, parent=parent).start()


class _EditThread(QThread):
    done = Signal(int, object)
    error = Signal(int, object)

    def __init__(self) -> None:
        super().__init__()
        self.tasks: queue.Queue = queue.Queue()

    def run(self) -> None:  # noqa: D102 - runs in the worker thread
        while True:
            task = self.tasks.get()
            if task is None:
                return
            task_id, fn, args = task
            try:
                self.done.emit(task_id, fn(*args))
            except BaseException as exc:  # forwarded, never swallowed
                self.error.emit(task_id, exc)


class EditQueue(QObject):
    """The single background thread through which every Library write (edits, undo, redo) goes, in order.

    Callbacks run on the GUI thread. ``busy_changed(bool)`` tells the GUI when it is working.
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: _EditThread | None = None
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable | None, Callable | None]] = {}

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> int:
        """Queue ``fn(*args)``; ``on_done(result)`` or ``on_error(exception)`` follows on the GUI thread."""
        if self._thread is None:
            self._thread = _EditThread()
            self._thread.done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
            self._thread.error.connect(self._on_error, Qt.ConnectionType.QueuedConnection)
            _LIVE.add(self)
            self._thread.start()
        task_id = next(self._ids)
        was_busy = self.busy
        self._callbacks[task_id] = (on_done, on_error)
        self._thread.tasks.put((task_id, fn, args))
        if not was_busy:
            self.busy_changed.emit(True)
        return task_id

    def _pop(self, task_id: int) -> tuple[Callable | None, Callable | None]:
        callbacks = self._callbacks.pop(task_id, (None, None))
        if not self.busy:
            self.busy_changed.emit(False)
        return callbacks

    def _on_done(self, task_id: int, result: Any) -> None:
        on_done, _ = self._pop(task_id)
        if on_done is not None:
            on_done(result)

    def _on_error(self, task_id: int, exc: BaseException) -> None:
        _, on_error = self._pop(task_id)
        if on_error is None:
            raise exc  # reaches sys.excepthook → the error dialog
        on_error(exc)

    def stop(self, ms: int = 30_000) -> None:
        """Finish the queued edits and end the thread (on window close)."""
        if self._thread is not None:
            self._thread.tasks.put(None)
            self._thread.wait(ms)
            self._thread = None
        _LIVE.discard(self)

    def wait(self, ms: int = 30_000) -> bool:
        return self._thread is None or self._thread.wait(ms)


def live_workers() -> list[QObject]:
    """Jobs and edit threads still running (tests assert this is empty after each test)."""
    import shiboken6

    out: list[QObject] = []
    for w in list(_LIVE):
        thread = w._thread if isinstance(w, (Job, EditQueue)) else None
        if thread is not None and shiboken6.isValid(thread) and thread.isRunning():
            out.append(w)
    return out


def stop_all(ms: int = 30_000) -> None:
    """Cancel every running job and wait for its thread (application shutdown)."""
    for w in list(_LIVE):
        if isinstance(w, Job):
            w.cancel()
    for w in list(_LIVE):
        if isinstance(w, Job):
            w.wait(ms)
        elif isinstance(w, EditQueue):
            w.stop(ms)


class StallMeter(QObject):
    """Measures GUI-thread stalls: the longest gap between ticks of a ``interval_ms`` precise timer.

    ``longest_ms`` is the worst gap seen since :meth:`start` (or :meth:`reset`), less the timer interval.
    """

    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._clock = QElapsedTimer()
        self.longest_ms = 0.0
        self.ticks = 0
        self.gaps: list[float] = []

    def start(self) -> None:
        self.reset()
        self._timer.start()

    def reset(self) -> None:
        self._clock.start()
        self.longest_ms = 0.0
        self.ticks = 0
        self.gaps = []

    def stop(self) -> float:
        self._timer.stop()
        return self.longest_ms

    def _tick(self) -> None:
        gap = self._clock.nsecsElapsed() / 1e6
        self._clock.restart()
        self.ticks += 1
        stall = max(0.0, gap - self.interval_ms)
        if stall > 30:
            self.gaps.append(round(stall, 1))
        self.longest_ms = max(self.longest_ms, stall)
