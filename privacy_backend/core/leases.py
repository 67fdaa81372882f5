"""Leased work: rows that several backend processes share, each worked on by one at a time.

The mail outbox (`mail.outbox`) and the Slack handoff notifier (`integrations.slack`) both
talk to the outside world after a commit, from a small pool of threads, about rows that other
processes (replicas, a restart that finds work left behind) may want to work on too. Each
attempt first claims its row with a conditional UPDATE that sets a lease (`claim`); a process
that dies mid-attempt leaves a lease that runs out, and the row is taken up again. An
attempt that failed writes its outcome only while it still holds its lease
(`write_if_held`), so a process whose lease ran out never frees a row another is working on.
A sweep (`LeasedWorker.sweep`) takes up the rows that are due and not leased.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, or_, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from privacy_backend.core.clock import Clock

T = TypeVar("T")
LeaseColumn = InstrumentedAttribute[datetime | None]


def lease_free(lease_column: LeaseColumn, now: datetime) -> ColumnElement[bool]:
    """The rows nobody holds: never leased, or the lease ran out."""
    return or_(lease_column.is_(None), lease_column < now)


def claim(session: Session, model: type[Any], row_id: object, lease_column: LeaseColumn,
          lease: datetime, now: datetime, *conditions: ColumnElement[bool],
          **values: Any) -> bool:
    """Lease the row `row_id` until `lease` if it meets `conditions` and nobody holds it,
    setting `values` with the lease; whether this session won it. The caller commits."""
    claimed = session.execute(
        update(model)
        .where(model.id == row_id, *conditions, lease_free(lease_column, now))
        .values({lease_column.key: lease, **values})
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(claimed)


def write_if_held(session: Session, model: type[Any], row_id: object,
                  lease_column: LeaseColumn, lease: datetime, **values: Any) -> bool:
    """Set `values` on the row only while it is still leased until `lease` (this attempt's
    lease); whether it was. The caller commits."""
    kept = session.execute(
        update(model)
        .where(model.id == row_id, lease_column == lease)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(kept)


class LeasedWorker:
    """A small pool of threads for attempts made after the caller's commit, and the sweep
    that takes up what is due. The pool starts with the first attempt; `close` stops it and a
    later attempt starts a new one (the app can start again)."""

    def __init__(self, factory: sessionmaker[Session], clock: Clock, *, workers: int,
                 thread_name: str, log: logging.Logger, failure: str,
                 quiet: tuple[type[BaseException], ...] = ()) -> None:
        self._factory = factory
        self._clock = clock
        self._workers = workers
        self._thread_name = thread_name
        self._log = log  # the worker's own module logger
        self._failure = failure  # logged, with the traceback, when an attempt raises
        self._quiet = quiet  # errors an attempt raises that are logged where they happen
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._pending: set[Future[Any]] = set()
        self._closing = threading.Event()

    def _submit(self, attempt: Callable[[int], T], row_id: int) -> Future[T]:
        """Run `attempt(row_id)` on the pool; a failure is logged, never lost silently."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._workers,
                                                thread_name_prefix=self._thread_name)
            future = self._pool.submit(attempt, row_id)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        future.add_done_callback(self._log_failure)
        return future

    def sweep(self, due: Select[tuple[int]], attempt: Callable[[int], T], *,
              stop_on: tuple[type[Exception], ...] = ()) -> list[T]:
        """Make `attempt` for each row id `due` selects, in this thread; what each returned.
        Stops early when the worker is closing, or when an attempt raises one of `stop_on`
        (a failure saying the next rows would fail alike)."""
        with self._factory() as session:
            ids = list(session.scalars(due))
            session.rollback()
        results: list[T] = []
        for row_id in ids:
            if self._closing.is_set():
                break
            try:
                results.append(attempt(row_id))
            except stop_on:
                break
        return results

    def drain(self, timeout: float = 30) -> None:
        """Wait for the attempts under way (tests read what they sent after this)."""
        wait(list(self._pending), timeout=timeout)

    def close(self) -> None:
        """Stop: attempts not yet started are cancelled (their rows stay due, without a
        lease, for the next sweep or process), the ones under way finish, a sweep stops
        before its next row."""
        self._closing.set()
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._closing.clear()

    def _log_failure(self, future: Future[Any]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None and not isinstance(error, self._quiet):
            self._log.error(self._failure, exc_info=error)
