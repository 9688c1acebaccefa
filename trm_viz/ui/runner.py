"""Run a trace on a thread of its own and hand each step to the caller as it completes.

Why a thread: Gradio advances a synchronous generator handler with one worker-thread call per ``next()``, and not
always on the same thread. ``iter_trace`` holds ``torch.inference_mode`` (thread-local) across its yields, so
stepping it from changing threads would run later steps outside inference mode and fail on inference tensors.
Here one thread owns the whole trace; the handler only waits on a queue. Closing the generator (the user pressed
Stop or left) tells the thread to finish after the current step.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterator

from ..model.trm import TRM
from ..tasks import Puzzle
from ..trace import Trace, iter_trace

_DONE = object()


def stream_trace(model: TRM, puzzle: Puzzle, steps: int | None = None, H_cycles: int | None = None,
                 L_cycles: int | None = None) -> Iterator[Trace]:
    """Yields the growing Trace after every supervision step; re-raises the worker's error (e.g. PuzzleError)."""
    out: queue.Queue = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        try:
            for trace in iter_trace(model, puzzle, steps, H_cycles, L_cycles):
                out.put(trace)
                if stop.is_set():
                    break
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread, which raises it
            out.put(e)
        finally:
            out.put(_DONE)

    worker = threading.Thread(target=work, name="trm-trace", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
