"""The annotation run: pending sides -> teacher (N at a time) -> filters -> journal -> SFT file.

Exactly-once: every finished side (kept, filtered, or failed for good) is journalled before it
counts; a restarted run asks only for sides the journal lacks (and for sides whose retries ran
out last time). The SFT file, the rejects file and the summary are then written atomically from
the journal, pairs in input order, each pair once. A request in flight when the process dies is
sent again on restart: requests are at-least-once, records exactly-once.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from umer1.annotate.filters import REASONS, Filters
from umer1.annotate.journal import Journal
from umer1.annotate.pairs import RECORD_KEYS, SIDES, AnnotationPair, AnnotationSide, resolve
from umer1.annotate.teachers import Cancelled, TeacherError, TeacherFatal, TeacherInput
from umer1.annotate.templates import Templates
from umer1.utils.errors import InputError
from umer1.engine.inputs import sample_frames
from umer1.utils.files import write_json, write_jsonl
from umer1.utils.progress import progress
from umer1.engine.prompts import sft_human

log = logging.getLogger(__name__)


def side_key(pair_id: str, side: str) -> str:
    """The journal key of a side (`side` one of SIDES), in the record's names: `ID/qry`."""
    return f"{pair_id}/{RECORD_KEYS[side]}"


@dataclass
class RunStats:
    asked: int = 0          # sides sent to the teacher in this run
    already_done: int = 0   # sides found finished in the journal
    elapsed_s: float = 0.0
    stopped: str | None = None


@dataclass
class Annotator:
    teacher: object
    templates: Templates
    filters: Filters
    journal: Journal
    image_root: Path
    concurrency: int = 8
    video_frames: int = 8
    retry_errors: bool = False      # also retry permanent errors (e.g. after fixing an image)
    show_progress: bool = True
    stop: threading.Event = field(default_factory=threading.Event)

    # ----- what is left to do --------------------------------------------------------------
    def pending(self, pairs: list[AnnotationPair]) -> list[tuple[AnnotationPair, str]]:
        done = self.journal.latest()
        out = []
        for pair in pairs:
            for name in SIDES:
                e = done.get(side_key(pair.id, name))
                if e is None or (e["status"] == "error" and (e.get("transient") or self.retry_errors)):
                    out.append((pair, name))
        return out

    # ----- one side --------------------------------------------------------------------------
    def teacher_input(self, pair: AnnotationPair, name: str) -> TeacherInput:
        side = pair.side(name)
        images = [resolve(self.image_root, p) for p in side.images]
        if side.video:
            images += [resolve(self.image_root, p) for p in sample_frames(side.video, self.video_frames)]
        return TeacherInput(self.templates.render(name, side, self.video_frames), images)

    def annotate_side(self, pair: AnnotationPair, name: str) -> dict:
        entry = {"key": side_key(pair.id, name), "id": pair.id, "side": RECORD_KEYS[name]}
        try:
            c = self.teacher.complete(self.teacher_input(pair, name), entry["key"])
        except TeacherError as exc:
            return {**entry, "status": "error", "error": str(exc), "transient": exc.transient,
                    "requests": exc.requests}
        except InputError as exc:   # an image that exists but cannot be read
            return {**entry, "status": "error", "error": f"input: {exc.one_line()}",
                    "transient": False, "requests": 0}
        except (Cancelled, TeacherFatal):
            raise
        except Exception as exc:    # one odd item (a local model's OOM, say) must not end a long run
            log.warning("%s failed: %s: %s (retried on the next run)", entry["key"],
                        type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            return {**entry, "status": "error", "error": f"internal: {type(exc).__name__}: {exc}",
                    "transient": True, "requests": 0}
        verdict = self.filters.check(c.text, c.finish_reason)
        entry.update(status="ok" if verdict.ok else "filtered", text=c.text,
                     finish_reason=c.finish_reason, prompt_tokens=c.prompt_tokens,
                     completion_tokens=c.completion_tokens, requests=c.requests,
                     reasoning_tokens=verdict.reasoning_tokens)
        if verdict.ok:
            entry["answer"] = verdict.answer
        else:
            entry.update(reason=verdict.reason, detail=verdict.detail)
        return entry

    # ----- the run ---------------------------------------------------------------------------
    def run(self, pairs: list[AnnotationPair]) -> RunStats:
        todo = self.pending(pairs)
        stats = RunStats(already_done=2 * len(pairs) - len(todo))
        t0 = time.monotonic()
        if stats.already_done:
            log.info("resuming: %d of %d sides already in %s", stats.already_done, 2 * len(pairs),
                     self.journal.path)
        work = iter(todo)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="annotate")
        inflight: set = set()

        def refill():
            # a bounded window keeps memory flat on millions of pairs
            while len(inflight) < 2 * self.concurrency and not self.stop.is_set():
                item = next(work, None)
                if item is None:
                    return
                inflight.add(pool.submit(self.annotate_side, *item))

        bar = progress(total=len(todo), desc="annotate", enabled=self.show_progress, unit="side")
        try:
            refill()
            while inflight:
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                finished, failure = [], None
                for fut in done:
                    inflight.discard(fut)
                    try:
                        finished.append(fut.result())
                    except Cancelled:
                        continue
                    except Exception as exc:      # e.g. TeacherFatal: keep the others first
                        failure = failure or exc
                self.journal.append(*finished)
                if failure is not None:
                    raise failure
                stats.asked += len(finished)
                bar.update(len(finished))
                for entry in finished:
                    if entry["status"] == "error":
                        log.debug("%s: %s", entry["key"], entry["error"])
                refill()
        except BaseException as exc:
            self.stop.set()            # ends retry waits; queued items are dropped, not lost
            stats.stopped = type(exc).__name__
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            bar.close()
            stats.elapsed_s = time.monotonic() - t0
        pool.shutdown(wait=True)
        return stats


# ----- output ----------------------------------------------------------------------------------
def sft_side(side: AnnotationSide, answer: str) -> dict:
    """One side of a UME-sft-train record (spec section 3)."""
    out: dict = {}
    if side.images:
        out["image"] = side.images[0] if len(side.images) == 1 else list(side.images)
    if side.video:
        out["video"] = list(side.video)
    human = sft_human(side.text, len(side.images), 1 if side.video else 0)
    out["conversations"] = [{"from": "human", "value": human}, {"from": "gpt", "value": answer}]
    return out


def sft_record(pair: AnnotationPair, answers: dict[str, str]) -> dict:
    """`answers` by side name (SIDES)."""
    return {"dataset_name": pair.dataset_name,
            **{RECORD_KEYS[n]: sft_side(pair.side(n), answers[n]) for n in SIDES}}


def finalise(pairs: list[AnnotationPair], journal: Journal, output: str | Path, *,
             rejects: str | Path, summary: str | Path, extra: dict | None = None) -> dict:
    """Write the SFT file, the rejects file and the summary from the journal; return the summary."""
    latest = journal.latest()
    records, rejected = [], []
    pairs_dropped = {"filtered": 0, "error": 0, "pending": 0}
    sides = {"ok": 0, "filtered": 0, "error": 0, "pending": 0}
    filtered = {r: 0 for r in REASONS}
    errors: dict[str, int] = {}
    for pair in pairs:
        got = {name: latest.get(side_key(pair.id, name)) for name in SIDES}
        for name, e in got.items():
            status = e["status"] if e else "pending"
            sides[status] += 1
            if status == "filtered":
                filtered[e["reason"]] = filtered.get(e["reason"], 0) + 1
            elif status == "error":
                kind = _error_kind(e["error"])
                errors[kind] = errors.get(kind, 0) + 1
            if status in ("filtered", "error"):
                rejected.append({"id": pair.id, "row": pair.row, "side": RECORD_KEYS[name],
                                 "status": status,
                                 "reason": e.get("reason") or _error_kind(e["error"]),
                                 "detail": e.get("detail") or e.get("error"),
                                 "text": e.get("text")})
        statuses = {e["status"] if e else "pending" for e in got.values()}
        if statuses == {"ok"}:
            records.append(sft_record(pair, {n: e["answer"] for n, e in got.items()}))
        else:
            worst = "pending" if "pending" in statuses else "error" if "error" in statuses else "filtered"
            pairs_dropped[worst] += 1
    totals = _totals(journal.entries)
    result = {
        "pairs": len(pairs), "pairs_written": len(records), "pairs_dropped": pairs_dropped,
        "sides": sides, "filtered": filtered, "errors": errors, **totals,
        "output": str(output), "rejects": str(rejects), "journal": str(journal.path),
        **(extra or {}),
    }
    write_jsonl(output, records)
    write_jsonl(rejects, rejected)
    write_json(summary, result)
    return result


def _totals(entries: Iterable[dict]) -> dict:
    """Counters over every journal entry, so they add up across resumed runs."""
    t = {"requests": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0}
    for e in entries:
        n = int(e.get("requests") or 0)
        t["requests"] += n
        t["retries"] += max(0, n - 1)
        t["prompt_tokens"] += int(e.get("prompt_tokens") or 0)
        t["completion_tokens"] += int(e.get("completion_tokens") or 0)
    return t


def _error_kind(message: str) -> str:
    if message.startswith("input:"):
        return "input"
    if message.startswith("gave up"):
        return "retries_exhausted"
    if message.startswith("internal:"):
        return "internal"
    return message.split(":")[0]   # e.g. "HTTP 400"
