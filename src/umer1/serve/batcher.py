"""Dynamic batching: concurrent requests are merged into one model call in one worker thread.

The model is not thread-safe and a GPU is best fed large batches, so every request goes through
a queue. The worker takes the oldest request, waits at most `max_wait_s` (counted from that
request's arrival) for more requests of the same mode, and runs up to `max_batch_size` inputs
in one `encode_fn` call. If a merged call fails, each request is retried alone so an error is
reported only to the request that caused it.
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

log = logging.getLogger(__name__)

# encode_fn(items, mode) -> (embeddings (N, D) float32, token counts per input)
EncodeFn = Callable[[list, str], tuple[np.ndarray, list[int]]]


class Overloaded(RuntimeError):
    """More inputs are queued than the server accepts."""


@dataclass
class _Job:
    items: Sequence
    mode: str
    future: Future
    arrived: float = field(default_factory=time.monotonic)


@dataclass
class BatchStats:
    requests: int = 0
    batches: int = 0
    inputs: int = 0
    largest_batch: int = 0


class DynamicBatcher:
    def __init__(self, encode_fn: EncodeFn, *, max_batch_size: int = 32, max_wait_s: float = 0.005,
                 max_queued_inputs: int = 4096):
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be >= 1")
        self.encode_fn = encode_fn
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.max_queued_inputs = max_queued_inputs
        self.stats = BatchStats()
        self._pending: deque[_Job] = deque()
        self._queued = 0
        self._cv = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    # ----- client side -------------------------------------------------------------------
    def start(self) -> "DynamicBatcher":
        self._thread = threading.Thread(target=self._loop, name="umer1-model-worker", daemon=True)
        self._thread.start()
        return self

    def submit(self, items: Sequence, mode: str) -> Future:
        """A Future of (embeddings, token counts) for these inputs."""
        fut: Future = Future()
        with self._cv:
            if self._closed:
                raise RuntimeError("the batcher is closed")
            if self._queued + len(items) > self.max_queued_inputs:
                raise Overloaded(f"{self._queued} inputs are already queued")
            self._pending.append(_Job(list(items), mode, fut))
            self._queued += len(items)
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
    def _take(self) -> list[_Job] | None:
        with self._cv:
            while not self._pending:
                if self._closed:
                    return None
                self._cv.wait()
            first = self._pending[0]
            deadline = first.arrived + self.max_wait_s
            while not self._closed and self._count(first.mode) < self.max_batch_size:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)
            jobs, n = [], 0
            for job in list(self._pending):
                if job.mode != first.mode:
                    continue
                if jobs and n + len(job.items) > self.max_batch_size:
                    break
                jobs.append(job)
                n += len(job.items)
            for job in jobs:
                self._pending.remove(job)
                self._queued -= len(job.items)
            return jobs

    def _count(self, mode: str) -> int:
        return sum(len(j.items) for j in self._pending if j.mode == mode)

    def _loop(self) -> None:
        while True:
            jobs = self._take()
            if jobs is None:
                return
            # A request whose client gave up (timeout) before its turn is not run.
            jobs = [j for j in jobs if j.future.set_running_or_notify_cancel()]
            if jobs:
                self._run(jobs)

    def _run(self, jobs: list[_Job]) -> None:
        items = [x for j in jobs for x in j.items]
        try:
            emb, tokens = self.encode_fn(items, jobs[0].mode)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach its request
            if len(jobs) == 1:
                jobs[0].future.set_exception(exc)
            else:
                log.info("a merged batch of %d requests failed (%s); retrying each alone",
                         len(jobs), exc)
                for job in jobs:
                    self._run_alone(job)
            return
        self._record(len(jobs), len(items))
        start = 0
        for job in jobs:
            end = start + len(job.items)
            job.future.set_result((emb[start:end], tokens[start:end]))
            start = end

    def _run_alone(self, job: _Job) -> None:
        try:
            job.future.set_result(self.encode_fn(list(job.items), job.mode))
            self._record(1, len(job.items))
        except BaseException as exc:  # noqa: BLE001
            job.future.set_exception(exc)

    def _record(self, requests: int, inputs: int) -> None:
        s = self.stats
        s.requests += requests
        s.batches += 1
        s.inputs += inputs
        s.largest_batch = max(s.largest_batch, inputs)
