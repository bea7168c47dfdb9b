"""Long work as background jobs (后台任务): recomputing a county, importing a large file, the notices of every
village, the report upward — with progress and a job list, on a real queue when one is configured, in-process
otherwise.

Every job is a row of ``jobs`` (:class:`Job`): ``queued → running → done | failed``, with ``progress`` (0–100)
and a ``message`` the task updates as it goes, its ``result`` (JSON) or its ``error``.  The row is the one
truth the pages read, whichever runs the job:

* **RQ on Redis** when ``broker_url`` is given (``RELIEF_REDIS_URL``): :func:`submit` enqueues
  :func:`run_job` on the ``relief`` queue and ``relief worker`` (an RQ worker) runs it.  RQ was chosen over
  Celery and Dramatiq because it needs nothing but Redis and plain functions (no broker or result-backend
  configuration, no task registry to keep in step), which is the whole of what a county deployment needs;
  on Windows the worker runs as ``SimpleWorker`` (no fork).
* **In-process** without a broker: the job runs on a background thread of the web process (one at a time,
  in submission order), so ``relief demo`` needs no server.  A job running when the process stops stays
  ``running``; :func:`fail_abandoned` marks such jobs failed at the next start.

The tasks (:data:`TASKS`) are plain functions ``task(factory, params, progress) -> result dict``; they call the
same services as the pages and the CLI and own their transactions.  A task that writes files puts them under
``params["output_dir"]/<job id>/`` (``progress.job_id``) and lists them in its result's ``files``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from claims.lifecycle.database import make_engine, session_factory, transaction
from claims.lifecycle.store import CLOCK_DAY, Base, clock_day, now
from tabular.errors import ReliefError

#: kind → (the task, "module:function", Chinese name).  A task is imported when a job of its kind runs.
TASKS: dict[str, tuple[str, str]] = {
    "recompute": ("claims.lifecycle.job_tasks:recompute_policy", "重新计算理赔 / recompute a policy's claims"),
    "import": ("claims.lifecycle.job_tasks:import_file", "导入部门报告 / import a department report"),
    # the budget is in actuarial, a layer above this one: its task lives there (actuarial.budget_service)
    "budget_run": ("actuarial.budget_service:budget_run", "保费预算测算 / a premium budget run"),
    # documents are the web layer's templates: their tasks live there, named here by string (never imported by claims)
    "notices": ("flask_app.document_jobs:village_notices", "全部村公示 / the notices of every village"),
    "upward_report": ("flask_app.document_jobs:upward_report", "上报报告 / the report upward"),
}
STATES = {"queued": "排队中 / queued", "running": "运行中 / running", "done": "已完成 / done", "failed": "失败 / failed"}
#: The RQ queue's name: ``RELIEF_QUEUE`` (default ``relief``), so that several deployments, or several test runs,
#: can share one Redis without taking each other's jobs; the web app and ``relief worker`` read the same variable.
QUEUE = os.environ.get("RELIEF_QUEUE") or "relief"
#: How long RQ keeps a job that runs (seconds): a province-scale import takes minutes, not hours.
JOB_TIMEOUT = 4 * 3600


class Job(Base):
    """One background job (后台任务) and what it has done so far."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    backend: Mapped[str] = mapped_column(String(10), default="inline")  # inline | rq
    county: Mapped[str | None] = mapped_column(String(6), index=True)  # whose job: scoped like the policy
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class JobError(ReliefError):
    """A job request that cannot be done (unknown kind, no such job)."""


#: Progress of the jobs running in this process (job id → (percent, message)).  On SQLite a task's own write
#: transaction (an import's rows) keeps the progress row from being written until it commits; the pages of
#: the same process read this first (:func:`progress_of`).
LIVE: dict[int, tuple[int, str]] = {}


class Progress:
    """What a task calls as it goes: ``progress(percent, message)`` goes to :data:`LIVE` and, on PostgreSQL, to
    the job's row in a short transaction of its own (a page of another process sees it at once).  On SQLite the
    row is written only at the end: one writer at a time, and the task's own write transaction (an import's
    rows) would make the progress wait for the work it reports."""

    def __init__(self, factory: sessionmaker[Session], job_id: int):
        self.factory, self.job_id = factory, job_id
        self.write_row = factory.kw["bind"].dialect.name != "sqlite"

    def __call__(self, percent: int, message: str) -> None:
        percent, message = max(0, min(100, int(percent))), message[:2000]
        LIVE[self.job_id] = (percent, message)
        if self.write_row:
            with transaction(self.factory) as s:
                s.execute(update(Job).where(Job.id == self.job_id).values(progress=percent, message=message))


def progress_of(job: Job) -> tuple[int, str | None]:
    """(percent, message) of a job: this process's live figures while it runs here, else its row's."""
    if job.state == "running" and job.id in LIVE:
        return LIVE[job.id]
    return job.progress, job.message


def _task(kind: str) -> Callable[[sessionmaker[Session], dict[str, Any], Progress], dict[str, Any]]:
    module, function = TASKS[kind][0].split(":")
    return getattr(importlib.import_module(module), function)


def run_job(database_url: str, job_id: int, day: str | None = None) -> None:
    """Run one queued job to its end: ``done`` with its result, or ``failed`` with the error's words.  Called by
    the RQ worker or the in-process thread; a job not ``queued`` any more (run already) is left alone.  ``day``
    (ISO date): the app's clock of the request that submitted it, so what the job writes is dated that day
    (:data:`claims.lifecycle.store.CLOCK_DAY`; a thread or a worker does not inherit the request's)."""
    with clock_day(dt.date.fromisoformat(day) if day else None):
        _run(database_url, job_id)


def _run(database_url: str, job_id: int) -> None:
    engine = make_engine(database_url)
    factory = session_factory(engine)
    try:
        with transaction(factory) as s:
            started = s.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                                .values(state="running", started_at=now(), message="开始 / started")).rowcount
            job = s.get(Job, job_id)
            kind, params = (job.kind, dict(job.params or {})) if job is not None else (None, {})
        if not started or kind is None:
            return
        try:
            result = _task(kind)(factory, params, Progress(factory, job_id))
            values: dict[str, Any] = {"state": "done", "progress": 100, "result": result,
                                      "message": "完成 / done"}
        except Exception as exc:  # noqa: BLE001 - a job's failure is its result: recorded on its row, never lost
            words = str(exc) if isinstance(exc, ReliefError) else f"{type(exc).__name__}: {exc}"
            values = {"state": "failed", "error": words[:4000], "message": "失败 / failed"}
        with transaction(factory) as s:
            s.execute(update(Job).where(Job.id == job_id).values(finished_at=now(), **values))
    finally:
        LIVE.pop(job_id, None)
        engine.dispose()


_pool: list[ThreadPoolExecutor] = []
_pool_lock = threading.Lock()


def _inline_pool() -> ThreadPoolExecutor:
    with _pool_lock:
        if not _pool:
            _pool.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="relief-job"))
        return _pool[0]


def submit(session: Session, kind: str, params: dict[str, Any], *, database_url: str, broker_url: str | None = None,
           title: str | None = None, county: str | None = None, created_by: int | None = None) -> Job:
    """Record a job (``queued``) in ``session``'s transaction; it is handed to RQ or the in-process thread when
    that transaction commits (so a worker never looks for a row it cannot see yet)."""
    if kind not in TASKS:
        raise JobError(f"未知的任务类型 / unknown job kind {kind!r} (one of {', '.join(TASKS)})")
    job = Job(kind=kind, title=(title or TASKS[kind][1])[:200], params=params, county=county, created_by=created_by,
              backend="rq" if broker_url else "inline", state="queued", progress=0, message="排队中 / queued")
    session.add(job)
    session.flush()
    job_id = job.id
    database = _database(session)
    day = CLOCK_DAY.get()
    on_clock = day.isoformat() if day else None

    def hand_over(_session: Session) -> None:
        if broker_url:
            from redis import Redis
            from rq import Queue

            Queue(QUEUE, connection=Redis.from_url(broker_url)).enqueue(
                run_job, database_url, job_id, on_clock, job_timeout=JOB_TIMEOUT, job_id=f"relief-{job_id}")
        else:
            MINE.add((database, job_id))
            _inline_pool().submit(run_job, database_url, job_id, on_clock)

    event.listen(session, "after_commit", hand_over, once=True)
    return job


#: The in-process jobs this process submitted, as (database, job id): the other ``inline`` jobs of a database
#: that are not finished belong to a stopped process.
MINE: set[tuple[str, int]] = set()


def _database(session: Session) -> str:
    return session.get_bind().url.render_as_string(hide_password=True)


def fail_abandoned(session: Session) -> int:
    """In-process jobs left ``queued``/``running`` by a stopped process (not in :data:`MINE`) are marked failed;
    returns how many.  Called by the job list page."""
    database = _database(session)
    mine = sorted(job_id for url, job_id in MINE if url == database)
    return session.execute(update(Job).where(Job.backend == "inline", Job.state.in_(["queued", "running"]),
                                             Job.id.not_in(mine or [0]))
                           .values(state="failed", finished_at=now(), message="失败 / failed",
                                   error="进程已停止，任务未完成，请重新提交 / the process stopped before the job "
                                         "finished: submit it again")).rowcount


def list_jobs(session: Session, counties: frozenset[str] | None, limit: int = 100) -> list[Job]:
    """The newest jobs of ``counties`` (None: every county; jobs with no county are shown to admins only)."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if counties is not None:
        query = query.where(Job.county.in_(sorted(counties) or ["-"]))
    return list(session.scalars(query))


__all__ = ["JOB_TIMEOUT", "LIVE", "MINE", "QUEUE", "STATES", "TASKS", "Job", "JobError", "Progress", "fail_abandoned",
           "list_jobs", "progress_of", "run_job", "submit"]
