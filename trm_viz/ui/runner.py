"""Every model run of the app: a streamed trace on a thread of its own (each step handed to the caller as it
completes), a whole trace (the /trace API) and the variant vote (streamed step by step for the page, whole for the
/vote API), each on as many CPU threads as suit the model.

Why a thread: one thread owns the whole run, and the handler only waits on a queue. Gradio advances a synchronous
generator handler with one worker-thread call per ``next()``, and not always on the same thread, while torch keeps
its settings per thread (the intra-op thread count use_threads sets, inference mode). Closing the generator (the
user pressed Stop or left) tells the thread to finish after the current step. A vote streams for the same reason: a
page that is closed frees the host's model slot after one step, not after the whole vote.
"""
from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import torch

from ..model.config import TRMConfig
from ..model.cost import net_flops
from ..model.trm import TRM
from ..tasks import Puzzle
from ..trace import Trace, iter_trace, run
from ..vote import VariantVote, run_vote
from .limits import hosted_variants

_DONE = object()
_CORES = torch.get_num_threads()          # the process default: one per physical core
# Below this many FLOPs per net call a second thread costs more than it brings. Measured on 2 cores (python -m
# trm_viz.bench --threads 1 / 2): sudoku-tiny's trace (19 MFLOP a call) 0.35 s on one thread against 0.90 s on two,
# maze-tiny's 0.12 against 0.33 s, arc-tiny's 8-variant vote (45 MFLOP) 0.19 against 0.21 s; maze-tiny's 8-variant
# vote (125 MFLOP) 0.81 against 0.67 s and the paper Sudoku trace (1.2 GFLOP) 5.5 against 4.3 s go the other way.
SMALL_CALL_FLOPS = 80e6


class ModelSlot:
    """The host's one model slot (the "model" concurrency group: the page's runs and votes and the /trace and /vote
    API share it): how many of them hold it now, for the page to say "Waiting for the model" while one goes."""

    def __init__(self) -> None:
        self._holders = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._holders > 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1


SLOT = ModelSlot()


def use_threads(config: TRMConfig, batch: int = 1) -> int:
    """Set the calling thread's torch intra-op threads for a run of ``batch`` puzzles at once, and return them.
    The app runs one model at a time (its "model" concurrency slot), so the setting cannot race another run."""
    n = 1 if batch * net_flops(config) < SMALL_CALL_FLOPS else _CORES
    torch.set_num_threads(n)
    return n


def trace_run(model: TRM, puzzle: Puzzle, steps: int, H_cycles: int, L_cycles: int) -> Trace:
    use_threads(model.config)
    return run(model, puzzle, steps, H_cycles, L_cycles)


def vote_run(model: TRM, puzzle: Puzzle, steps: int, H_cycles: int, L_cycles: int, variants: int,
             stop: Callable[[], bool] | None = None) -> VariantVote:
    """The variant vote within what this host runs (ui/limits.py: ValueError beyond it); ``stop`` as run_vote's."""
    variants = hosted_variants(model.config, steps, H_cycles, L_cycles, variants)
    use_threads(model.config, variants if isinstance(variants, int) else 1)      # run_vote refuses a bad count
    return run_vote(model, puzzle, steps, H_cycles, L_cycles, variants, stop=stop)


def stream_trace(model: TRM, puzzle: Puzzle, steps: int | None = None, H_cycles: int | None = None,
                 L_cycles: int | None = None) -> Iterator[Trace]:
    """Yields the growing Trace after every supervision step; re-raises the worker's error (e.g. PuzzleError)."""
    def work(emit: Callable[[object], None], stop: threading.Event) -> None:
        use_threads(model.config)
        for trace in iter_trace(model, puzzle, steps, H_cycles, L_cycles):
            emit(trace)
            if stop.is_set():
                break

    return _on_thread(work, "trm-trace")


def stream_vote(model: TRM, puzzle: Puzzle, steps: int, H_cycles: int, L_cycles: int, variants: int,
                stop: Callable[[], bool]) -> Iterator[VariantVote | None]:
    """vote_run on a thread of its own: yields None after every step (so that a page that closes the iterator, a
    visitor who left, ends the vote after that step, as ``stop`` does), then the VariantVote."""
    def work(emit: Callable[[object], None], closed: threading.Event) -> None:
        def after_step() -> bool:
            emit(None)
            return closed.is_set() or stop()

        emit(vote_run(model, puzzle, steps, H_cycles, L_cycles, variants, stop=after_step))

    return _on_thread(work, "trm-vote")


def _on_thread(work: Callable[[Callable[[object], None], threading.Event], None], name: str) -> Iterator:
    """Run ``work(emit, closed)`` on a thread of its own and yield what it emits; its error is raised here. Closing
    the iterator (the user pressed Stop or left) sets ``closed``, for the work to end after its current step."""
    out: queue.Queue = queue.Queue()
    closed = threading.Event()

    def run_it() -> None:
        try:
            work(out.put, closed)
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread, which raises it
            out.put(e)
        finally:
            out.put(_DONE)

    threading.Thread(target=run_it, name=name, daemon=True).start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        closed.set()
