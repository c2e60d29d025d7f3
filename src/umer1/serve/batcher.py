"""Dynamic batching with fair scheduling and cancellation, in one model worker thread.

The model is not thread-safe and a GPU is best fed large batches, so every request goes
through a queue, one per mode. The worker:
- alternates between the disc and the gen queue whenever both hold work, so a long gen request
  delays a disc request by at most one batch (and the other way round);
- forms a batch from the front of one queue: it waits at most `max_wait_s` (from the oldest
  request's arrival) for more requests, then takes inputs up to the mode's batch size and
  `max_batch_tokens`. A request larger than that is split into slices; its rest goes to the
  back of the queue, so requests of the same mode take turns;
- drops the queued inputs of a cancelled request (the client timed out or went away) and tells
  `encode_fn`, through `should_stop`, when every request of the running batch is cancelled.
If a merged call fails, each request's slice is retried alone, so an error reaches only the
request that caused it. Other model work (the search page's query: an embedding plus its
reasoning and an index search) comes as a call (`submit_call`) that the same worker runs
between batches, taking turns with them, so the model never runs on two threads.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from umer1.engine.params import Mode

log = logging.getLogger(__name__)

# encode_fn(items, mode, should_stop) -> embeddings (N, D) float32. should_stop() turns True
# once every request of the batch is cancelled; the function may then return early (its
# result is discarded).
EncodeFn = Callable[[list, Mode, Callable[[], bool]], np.ndarray]


class Overloaded(RuntimeError):
    """More inputs are queued than the server accepts."""


@dataclass(eq=False)
class _Job:
    items: list
    costs: list[int]            # tokens per input, for max_batch_tokens
    mode: Mode
    future: Future
    arrived: float = field(default_factory=time.monotonic)
    taken: int = 0              # inputs handed to the worker so far
    done: int = 0               # inputs embedded so far
    parts: list = field(default_factory=list)

    @property
    def waiting(self) -> int:
        return len(self.items) - self.taken


@dataclass
class _Slice:
    job: _Job
    start: int
    end: int


@dataclass
class BatchStats:
    requests: int = 0
    batches: int = 0
    inputs: int = 0
    largest_batch: int = 0
    cancelled_inputs: int = 0   # dropped from the queue or abandoned in flight


class DynamicBatcher:
    def __init__(self, encode_fn: EncodeFn, *, max_batch_size: int = 32,
                 max_gen_batch_size: int = 4, max_batch_tokens: int = 32_768,
                 max_wait_s: float = 0.005, max_queued_inputs: int = 4096):
        if min(max_batch_size, max_gen_batch_size, max_batch_tokens) < 1:
            raise ValueError("batch sizes must be >= 1")
        self.encode_fn = encode_fn
        self.caps = {Mode.DISC: max_batch_size, Mode.GEN: max_gen_batch_size}
        self.max_batch_tokens = max_batch_tokens
        self.max_wait_s = max_wait_s
        self.max_queued_inputs = max_queued_inputs
        self.stats = BatchStats()
        self._queues: dict[Mode, deque[_Job]] = {m: deque() for m in Mode}
        self._queued = 0
        self._calls: deque[tuple[Callable[[], object], Future]] = deque()
        self._call_turn = True      # a waiting call runs before the next batch when True
        self._last: Mode | None = None
        self._cv = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    # ----- client side -------------------------------------------------------------------
    def start(self) -> "DynamicBatcher":
        self._thread = threading.Thread(target=self._loop, name="umer1-model-worker", daemon=True)
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        """The worker thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def submit(self, items: Sequence, mode: Mode | str,
               costs: Sequence[int] | None = None) -> Future:
        """A Future of the embeddings (N, D) of these inputs. Cancel it (`future.cancel()`) to
        drop the work: it stays cancellable until its result is set."""
        mode = Mode(mode)
        fut: Future = Future()
        costs = list(costs) if costs is not None else [1] * len(items)
        with self._cv:
            if self._closed:
                raise RuntimeError("the batcher is closed")
            if self._queued + len(items) > self.max_queued_inputs:
                raise Overloaded(f"{self._queued} inputs are already queued")
            self._queues[mode].append(_Job(list(items), costs, mode, fut))
            self._queued += len(items)
            self._cv.notify()
        return fut

    def submit_call(self, fn: Callable[[], object]) -> Future:
        """A Future of `fn()`, run by the model worker between batches (calls and batches take
        turns). Cancelled before it starts, it never runs."""
        fut: Future = Future()
        with self._cv:
            if self._closed:
                raise RuntimeError("the batcher is closed")
            if self._queued + len(self._calls) >= self.max_queued_inputs:
                raise Overloaded(f"{self._queued} inputs are already queued")
            self._calls.append((fn, fut))
            self._cv.notify()
        return fut

    @property
    def queued_inputs(self) -> int:
        return self._queued

    def close(self, timeout: float = 10.0) -> None:
        """Stop taking requests, finish the queued ones, stop the worker."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # ----- worker side -------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            if isinstance(taken[0], Future):
                self._call(*taken)
            else:
                self._run(*taken)

    def _take(self):
        """(mode, slices) of the next batch, (future, fn) of the next call, or None: closed."""
        with self._cv:
            while True:
                ready = [m for m in Mode if self._prune(m)]
                if self._calls and (self._call_turn or not ready):
                    self._call_turn = False
                    fn, fut = self._calls.popleft()
                    return fut, fn
                if ready:
                    break
                if self._closed:
                    return None
                self._cv.wait()
            self._call_turn = True
            # The other mode first when both wait: no mode holds the worker two batches running.
            mode = next((m for m in ready if m is not self._last), ready[0])
            self._last = mode
            queue, cap = self._queues[mode], self.caps[mode]
            deadline = queue[0].arrived + self.max_wait_s
            while not self._closed and sum(j.waiting for j in queue) < cap:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)
            self._prune(mode)
            return mode, self._slices(queue, cap)

    def _slices(self, queue: deque[_Job], cap: int) -> list[_Slice]:
        slices, n, cost = [], 0, 0
        while queue:
            job = queue.popleft()
            start = job.taken
            while job.taken < len(job.items) and n < cap:
                c = job.costs[job.taken]
                if n and cost + c > self.max_batch_tokens:
                    break
                cost, n, job.taken = cost + c, n + 1, job.taken + 1
            if job.taken > start:
                slices.append(_Slice(job, start, job.taken))
                self._queued -= job.taken - start
            if job.waiting:           # the batch is full: the rest waits for its turn
                queue.append(job)
                break
        return slices

    def _prune(self, mode: Mode) -> bool:
        """Drop cancelled requests from a queue (lock held); whether it still holds work."""
        queue = self._queues[mode]
        for job in [j for j in queue if j.future.cancelled()]:
            queue.remove(job)
            self._queued -= job.waiting
            self.stats.cancelled_inputs += job.waiting
        return bool(queue)

    def _run(self, mode: Mode, slices: list[_Slice]) -> None:
        items = [x for s in slices for x in s.job.items[s.start:s.end]]

        def should_stop() -> bool:
            return all(s.job.future.cancelled() for s in slices)
        try:
            emb = self.encode_fn(items, mode, should_stop)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach its request
            if len(slices) == 1:
                self._fail(slices[0].job, exc)
            else:
                log.info("a merged batch of %d requests failed (%s); retrying each alone",
                         len(slices), exc)
                for s in slices:
                    self._run(mode, [s])
            return
        if should_stop():
            self.stats.cancelled_inputs += len(items)
            return
        self._record(len(items))
        start = 0
        for s in slices:
            n = s.end - s.start
            s.job.parts.append(np.asarray(emb[start:start + n]))
            s.job.done += n
            start += n
            if s.job.done == len(s.job.items) and s.job.future.set_running_or_notify_cancel():
                s.job.future.set_result(np.concatenate(s.job.parts))
                self.stats.requests += 1

    @staticmethod
    def _call(fut: Future, fn: Callable[[], object]) -> None:
        if not fut.set_running_or_notify_cancel():    # cancelled while it waited
            return
        try:
            fut.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - the failure belongs to its caller
            fut.set_exception(exc)

    def _fail(self, job: _Job, exc: BaseException) -> None:
        with self._cv:
            queue = self._queues[job.mode]
            if job in queue:
                queue.remove(job)
                self._queued -= job.waiting
        if job.future.set_running_or_notify_cancel():
            job.future.set_exception(exc)

    def _record(self, inputs: int) -> None:
        s = self.stats
        s.batches += 1
        s.inputs += inputs
        s.largest_batch = max(s.largest_batch, inputs)
