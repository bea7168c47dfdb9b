"""Background jobs (issue 15, item 5): a job runs in-process without a broker and on RQ with this machine's
Redis, reports its progress on its row, and a failure is recorded with its words, never lost."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select, update
from test_api import MARCH, make_app, medical_bytes
from test_notice_pdf import PASSWORD, login
from test_pages_money import tok

from claims.lifecycle.database import make_engine, session_factory, transaction
from claims.lifecycle.jobs import QUEUE, Job, JobError, fail_abandoned, submit
from claims.lifecycle.models import Claim, User
from flask_app import db as web_db
from flask_app.auth import hash_password

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own: the tests never touch db 0


def _wait(url: str, job_id: int, seconds: float = 120) -> Job:
    """The job once finished, read as the pages read (no write lock: SQLite's BEGIN IMMEDIATE would queue behind
    the job's own write transaction)."""
    engine = make_engine(url, immediate=False)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            with session_factory(engine)() as s:
                job = s.get(Job, job_id)
                if job.state in ("done", "failed"):
                    return job
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError(f"job {job_id} did not finish in {seconds} s")


def _import_params(tmp_path, **extra) -> dict:
    upload = tmp_path / f"upload-{uuid.uuid4().hex}.csv"
    upload.write_bytes(medical_bytes(MARCH))
    return {"policy_id": 1, "department": "medical", "path": str(upload), "file_name": "m03.csv",
            "period": "2025-03", "actor_role": "insurer_adjudicator", **extra}


def test_an_import_runs_in_process_with_progress(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    app.extensions["relief_engine"].dispose()
    factory = session_factory(make_engine(db_url))
    params = _import_params(tmp_path)
    with transaction(factory) as s:
        job_id = submit(s, "import", params, database_url=db_url, county="130434").id
    job = _wait(db_url, job_id)
    assert (job.state, job.progress, job.backend, job.error) == ("done", 100, "inline", None), job.error
    # three March bills: 9,000 and 12,000 self-paid cross the 5,000 start line, 4,000 does not → 2 claims
    assert (job.result["rows_stored"], job.result["claims_created"]) == (3, 2)
    assert job.started_at is not None and job.finished_at >= job.started_at
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Claim)) == 2
    assert not (tmp_path / params["path"]).exists()  # the stored upload is removed once read


def test_a_failing_job_is_recorded_with_its_words(db):
    _, factory = db
    url = str(factory.kw["bind"].url.render_as_string(hide_password=False))
    with transaction(factory) as s:
        job_id = submit(s, "recompute", {"policy_id": 999}, database_url=url).id
    job = _wait(url, job_id)
    assert job.state == "failed" and "policy 999 does not exist" in job.error
    with pytest.raises(JobError, match="unknown job kind"), transaction(factory) as s:
        submit(s, "nonesuch", {}, database_url=url)


def test_jobs_left_by_a_stopped_process_are_failed_at_the_next_start(db):
    _, factory = db
    with transaction(factory) as s:
        s.add(Job(kind="recompute", title="t", params={}, backend="inline", state="running", progress=40))
        s.add(Job(kind="recompute", title="t", params={}, backend="rq", state="running", progress=40))
    with transaction(factory) as s:
        assert fail_abandoned(s) == 1  # the in-process one; an RQ job still runs on its worker
    with factory() as s:
        assert sorted(s.scalars(select(Job.state))) == ["failed", "running"]


def _redis():
    try:
        from redis import Redis

        connection = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        connection.ping()
        return connection
    except Exception as exc:  # noqa: BLE001 - any failure to reach Redis means: skip, saying why
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({type(exc).__name__}); the RQ path is not tested")


def test_an_import_runs_on_rq_with_this_machines_redis(db_url, tmp_path):
    connection = _redis()
    from rq import Queue, SimpleWorker

    queue = Queue(QUEUE, connection=connection)
    queue.empty()
    app = make_app(db_url, tmp_path)
    app.extensions["relief_engine"].dispose()
    factory = session_factory(make_engine(db_url))
    with transaction(factory) as s:
        job_id = submit(s, "import", _import_params(tmp_path), database_url=db_url, broker_url=REDIS_URL).id
    assert queue.count == 1  # enqueued at commit, not before
    with factory() as s:
        assert s.get(Job, job_id).state == "queued"
    SimpleWorker([queue], connection=connection).work(burst=True)  # what `relief worker` runs
    job = _wait(db_url, job_id, seconds=5)
    assert (job.state, job.backend, job.result["claims_created"]) == ("done", "rq", 2)


def test_the_supervisor_starts_a_recompute_and_watches_it_on_the_jobs_page(db_url, tmp_path):
    app = make_app(db_url, tmp_path)  # users named after their roles
    with app.app_context(), web_db.write() as s:
        s.execute(update(User).values(password_hash=hash_password(PASSWORD)))

    def client(role: str):
        c = app.test_client()
        login(c, role)
        return c

    sup = client("insurer_supervisor")
    page = sup.get("/jobs").get_data(as_text=True)
    assert "本进程内运行" in page and "重新计算全部理赔" in page
    r = sup.post("/jobs/recompute", data={"policy_id": 1, "csrf_token": tok(sup)})
    assert r.status_code == 302
    job_id = int(r.headers["Location"].rsplit("/", 1)[1])
    job = _wait(db_url, job_id)
    assert job.state == "done", job.error
    assert job.result == {"created": 0, "updated": 0, "withdrawn": 0, "flagged": 0}  # nothing imported yet
    shown = sup.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "已完成 / done" in shown and 'http-equiv="refresh"' not in shown  # finished: no more refreshing
    county = client("county_reviewer")
    assert f"#{job_id}" in county.get("/jobs").get_data(as_text=True)  # the county's job
    assert county.post("/jobs/recompute", data={"policy_id": 1, "csrf_token": tok(county)}).status_code == 403
    assert client("village_clerk").get("/jobs").status_code == 403
    assert sup.get("/jobs/999999").status_code == 404
    app.extensions["relief_engine"].dispose()
