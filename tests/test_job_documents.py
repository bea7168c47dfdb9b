"""Background jobs that make documents and import a large file (issue 15, item 5): the notices of every village,
the report upward as PDF and Excel, and an upload above the job threshold imported by a job from the import page.

Each output is checked against what the page itself serves: a village's notice in the all-villages zip is the
very PDF ``/notices/<id>.pdf`` answers (byte for byte), the report's workbook holds the cells of
``/reports/<policy>/<period>.xlsx`` and its totals equal the payout batches and the fund ledger read with SQL.
Jobs run in-process (no broker) and, where this machine's Redis answers, on RQ with a real ``relief worker
--burst`` (Redis database 15); skipped with the reason otherwise.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import text, update
from test_api import MARCH, make_app, medical_bytes
from test_jobs import REDIS_URL, _redis, _wait
from test_notice_pdf import PASSWORD, login
from test_pages_money import tok
from test_upward_report import PAID_IN, sql_fen

from claims.lifecycle.database import make_engine, session_factory
from claims.lifecycle.jobs import QUEUE
from claims.lifecycle.models import User
from flask_app import db as web_db
from flask_app.auth import hash_password
from flask_app.demo import DEMO_PASSWORD, build_demo
from flask_app.pdf import cjk_font


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo county (January paid in the 2025-02 batch, February's notices ended, March's on display) on
    SQLite, its app's date 2025-03-05, job outputs in a folder of the test's own."""
    from flask_app import create_app

    work = tmp_path_factory.mktemp("jobdocs")
    url = f"sqlite:///{work / 'relief.db'}"
    info = build_demo(url, work / "demo", people=400)
    config = {"DATABASE_URL": url, "SECRET_KEY": "t", "TESTING": True, "WTF_CSRF_ENABLED": False,
              "RELIEF_TODAY": "2025-03-05", "RELIEF_JOB_OUTPUTS": str(work / "outputs")}
    app = create_app(config)
    engine = make_engine(url)
    yield app, info, session_factory(engine), url, config
    engine.dispose()
    app.extensions["relief_engine"].dispose()


def county(app):
    client = app.test_client()
    r = client.post("/login", data={"username": "county1", "password": DEMO_PASSWORD})
    assert r.status_code == 302
    return client


def job_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    m = re.search(r"/jobs/(\d+)$", response.headers["Location"])
    assert m, response.headers["Location"]
    return int(m.group(1))


def downloaded(client, job_id: int) -> dict[str, bytes]:
    """Every file the finished job's page links to, by name."""
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    links = re.findall(rf'href="(/jobs/{job_id}/files/[^"]+)"', page)
    assert links, page
    return {link.rsplit("/", 1)[1]: client.get(link).data for link in links}


def values(data: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def column(factory, sql: str, **params) -> list:
    with factory() as s:
        return list(s.execute(text(sql), params).scalars())


def check_notices(app, factory, policy_id: int, job_id: int, url: str, which: str) -> None:
    client = county(app)
    job = _wait(url, job_id)
    assert job.state == "done", job.error
    state = "" if which == "all" else "AND n.state = 'posted'"
    chosen = column(factory, f"SELECT n.id FROM notices n WHERE n.policy_id = :p {state} ORDER BY n.id", p=policy_id)
    villages = sql_fen(factory, f"SELECT COUNT(DISTINCT village_code) FROM notices n WHERE n.policy_id = :p {state}",
                       p=policy_id)
    lines = sql_fen(factory, "SELECT COUNT(*) FROM notice_lines nl JOIN notices n ON n.id = nl.notice_id "
                             f"WHERE n.policy_id = :p {state}", p=policy_id)
    # the demo posts each village's filed claims on 2025-02-01 (ended by 2025-03-05) and on 2025-03-01 (on display)
    assert len(chosen) == (2 * villages if which == "all" else villages) and villages >= 1
    assert (job.result["notices"], job.result["villages"], job.result["lines"]) == (len(chosen), villages, lines)
    files = downloaded(client, job_id)
    (name, data), = files.items()
    archive = zipfile.ZipFile(io.BytesIO(data))
    htmls = sorted(n for n in archive.namelist() if n.endswith(".html"))
    assert sorted(int(re.search(r"notice-(\d+)\.html$", n).group(1)) for n in htmls) == chosen
    for notice_id in chosen:
        member = next(n for n in htmls if n.endswith(f"-notice-{notice_id}.html"))
        html = archive.read(member).decode("utf-8")
        digests = set(re.findall(r'class="notice-digest">([0-9a-f]{64})<', html))
        filed = set(column(factory, "SELECT digest FROM notice_sheets WHERE notice_id = :n", n=notice_id))
        assert digests == filed and f"http://localhost/notices/verify/{sorted(filed)[0]}" in html
        page_pdf = client.get(f"/notices/{notice_id}.pdf")
        if cjk_font() is None:
            assert page_pdf.status_code == 503 and job.result["pdf"].startswith("本机未安装中文字体")
            continue
        # the village's sheet in the all-villages output is the very PDF its own page serves
        assert archive.read(member[:-5] + ".pdf") == page_pdf.data


def test_the_notices_of_every_village_in_one_job_equal_each_village_notice(demo):
    app, info, factory, url, _ = demo
    client = county(app)
    assert "打印全部村公示" in client.get("/jobs").get_data(as_text=True)
    # a notice that kept no hotline shows the county's one (relief villages set-hotline), on the page as in the job
    from claims.lifecycle.database import transaction
    from claims.lifecycle.villages import set_hotline

    first = column(factory, "SELECT MIN(id) FROM notices WHERE policy_id = :p", p=info.policy_id)[0]
    county_code = column(factory, "SELECT county FROM policies WHERE id = :p", p=info.policy_id)[0]
    with transaction(factory) as s:
        s.execute(text("UPDATE notices SET hotline = NULL WHERE id = :n"), {"n": first})
        set_hotline(s, county_code, "0310-7654321")
    job_id = job_id_of(client.post("/jobs/notices", data={"policy_id": info.policy_id, "which": "all"}))
    check_notices(app, factory, info.policy_id, job_id, url, "all")
    archive = zipfile.ZipFile(io.BytesIO(next(iter(downloaded(client, job_id).values()))))
    html = archive.read(next(n for n in archive.namelist() if n.endswith(f"-notice-{first}.html"))).decode()
    assert "<strong>0310-7654321</strong>" in html
    # another county's user neither sees the job nor its file
    other = app.test_client()
    assert other.get(f"/jobs/{job_id}/files/x.zip").status_code in (302, 401)  # not signed in: the login page
    assert client.get(f"/jobs/{job_id}/files/..%2Frelief.db").status_code == 404  # only the files it lists


def check_report(app, factory, policy_id: int, job_id: int, url: str) -> None:
    client = county(app)
    job = _wait(url, job_id)
    assert job.state == "done", job.error
    files = downloaded(client, job_id)
    stem = f"upward-report-{policy_id}-2025-02"
    page_xlsx = client.get(f"/reports/{policy_id}/2025-02.xlsx").data
    assert values(files[f"{stem}.xlsx"]) == values(page_xlsx)  # every sheet, every cell
    # totals to the fen: lines paid in the 2025-02 batch, and the fund's balance = premium − claims paid
    paid = sql_fen(factory, PAID_IN, p=policy_id, a="2025-02", b="2025-02")
    premium = sql_fen(factory, "SELECT SUM(amount) FROM fund_entries WHERE policy_id = :p AND kind = "
                               "'premium_received'", p=policy_id)
    assert paid > 0 and job.result["payout_total"] == f"{paid / 100:,.2f}"
    assert job.result["balance"] == f"{(premium - paid) / 100:,.2f}"
    shown = re.search(r'class="payout-total">([\d,.]+)<', client.get(
        f"/reports?policy={policy_id}&period=2025-02").get_data(as_text=True)).group(1)
    assert shown == job.result["payout_total"]
    if cjk_font() is None:
        assert f"{stem}.pdf" not in files and job.result["pdf"].startswith("本机未安装中文字体")
        return
    assert files[f"{stem}.pdf"] == client.get(f"/reports/{policy_id}/2025-02.pdf").data


def test_the_monthly_report_upward_as_a_job_equals_the_pages_pdf_and_excel(demo):
    app, info, factory, url, _ = demo
    client = county(app)
    page = client.get(f"/reports?policy={info.policy_id}&period=2025-02").get_data(as_text=True)
    assert 'action="/jobs/upward-report"' in page
    job_id = job_id_of(client.post("/jobs/upward-report", data={"policy_id": info.policy_id, "period": "2025-02"}))
    check_report(app, factory, info.policy_id, job_id, url)
    listed = client.get("/jobs").get_data(as_text=True)
    assert f"/jobs/{job_id}/files/upward-report-{info.policy_id}-2025-02.xlsx" in listed  # the list links the output
    r = client.post("/jobs/upward-report", data={"policy_id": info.policy_id, "period": "2025-13"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/reports")  # not a month: refused, no job


def test_on_rq_a_relief_worker_burst_makes_the_same_documents(demo):
    connection = _redis()
    from rq import Queue

    from flask_app import create_app

    app, info, factory, url, config = demo
    queue = Queue(QUEUE, connection=connection)
    queue.empty()
    brokered = create_app({**config, "RELIEF_REDIS_URL": REDIS_URL})
    client = county(brokered)
    notices = job_id_of(client.post("/jobs/notices", data={"policy_id": info.policy_id}))
    report = job_id_of(client.post("/jobs/upward-report", data={"policy_id": info.policy_id, "period": "2025-02"}))
    assert queue.count == 2 and "RQ 队列" in client.get(f"/jobs/{report}").get_data(as_text=True)
    done = subprocess.run([sys.executable, "-m", "flask_app.cli", "worker", "--redis", REDIS_URL, "--burst"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    check_notices(app, factory, info.policy_id, notices, url, "posted")
    check_report(app, factory, info.policy_id, report, url)
    # a large upload (the threshold lowered below April's medical file) goes to the queue too
    brokered.config.update(RELIEF_IMPORT_JOB_BYTES=256, RELIEF_PENDING_UPLOADS=config["RELIEF_JOB_OUTPUTS"])
    april = info.county_dir / "medical" / "2025-04.csv"
    rows = len(april.read_text(encoding="utf-8").splitlines()) - 1  # the file's lines under its header
    assert april.stat().st_size > 256 and rows > 0
    imported = job_id_of(client.post("/imports", data={"department": "medical", "period": "2025-04",
                                                       "policy_id": info.policy_id,
                                                       "file": (io.BytesIO(april.read_bytes()), "2025-04.csv")},
                                     content_type="multipart/form-data"))
    assert queue.count == 1
    done = subprocess.run([sys.executable, "-m", "flask_app.cli", "worker", "--redis", REDIS_URL, "--burst"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    job = _wait(url, imported)
    assert (job.state, job.backend, job.result["rows_read"]) == ("done", "rq", rows), job.error
    assert sql_fen(factory, "SELECT rows_read FROM import_batches WHERE id = :b", b=job.result["batch_id"]) == rows
    brokered.extensions["relief_engine"].dispose()


def test_a_large_upload_is_imported_by_a_job_and_the_page_leads_to_its_report(db_url, tmp_path):
    app = make_app(db_url, tmp_path)  # users named after their roles
    app.config.update(RELIEF_PENDING_UPLOADS=str(tmp_path / "pending"), RELIEF_IMPORT_JOB_BYTES=100)
    with app.app_context(), web_db.write() as s:
        s.execute(update(User).values(password_hash=hash_password(PASSWORD)))
    client = app.test_client()
    login(client, "insurer_adjudicator")
    data = medical_bytes(MARCH)
    assert len(data) > 100  # above the threshold set for the test: a job, not the request
    r = client.post("/imports", data={"department": "medical", "period": "2025-03", "policy_id": 1,
                                      "csrf_token": tok(client), "file": (io.BytesIO(data), "m03.csv")},
                    content_type="multipart/form-data")
    job_id = job_id_of(r)
    job = _wait(db_url, job_id)
    assert job.state == "done", job.error
    # three March bills: 9,000 and 12,000 self-paid cross the 5,000 start line, 4,000 does not → 2 claims
    assert (job.result["rows_stored"], job.result["claims_created"]) == (3, 2)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    batch = job.result["batch_id"]
    assert f'href="/imports/{batch}"' in page and "查看导入报告" in page
    assert "<th>新建理赔</th>" in page and "claims_created" not in page  # the figures by their Chinese names
    assert "m03.csv" in client.get(f"/imports/{batch}").get_data(as_text=True)
    assert not any((tmp_path / "pending").iterdir())  # the held upload is removed once read
    app.config["RELIEF_IMPORT_JOB_BYTES"] = 10 * len(data)  # below the threshold: imported in the request, as before
    again = medical_bytes(MARCH[:1]) + b"\n"
    r = client.post("/imports", data={"department": "medical", "period": "2025-03", "policy_id": 1,
                                      "csrf_token": tok(client), "file": (io.BytesIO(again), "m03b.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 302 and re.search(r"/imports/\d+$", r.headers["Location"])
    app.extensions["relief_engine"].dispose()


def test_a_large_file_with_unknown_headers_is_read_with_the_profile_saved_from_a_sample(db_url, tmp_path):
    """The job imports as the page does (import_mapped): unknown headers fail the job with what to do; once a
    profile is saved (as the mapping page saves it from a few rows), the whole file is read with it."""
    from test_mapping_profiles import COLUMNS, MARCH, county_file

    from claims.lifecycle.database import transaction
    from claims.lifecycle.mapping_profiles import save_profile
    from claims.lifecycle.transitions import SYSTEM

    app = make_app(db_url, tmp_path)
    app.config.update(RELIEF_PENDING_UPLOADS=str(tmp_path / "pending"), RELIEF_IMPORT_JOB_BYTES=100)
    with app.app_context(), web_db.write() as s:
        s.execute(update(User).values(password_hash=hash_password(PASSWORD)))
    client = app.test_client()
    login(client, "insurer_adjudicator")
    data = county_file(tmp_path / "m03.csv", MARCH).read_bytes()

    def upload() -> int:
        return job_id_of(client.post("/imports", data={"department": "medical", "period": "2025-03", "policy_id": 1,
                                                       "csrf_token": tok(client), "file": (io.BytesIO(data), "m03.csv")},
                                     content_type="multipart/form-data"))

    refused = _wait(db_url, upload())
    assert refused.state == "failed" and "upload its first rows, map their columns" in refused.error
    with app.app_context(), transaction(web_db.factory()) as s:
        save_profile(s, "medical", "某县医保", COLUMNS, SYSTEM)
    job = _wait(db_url, upload())
    assert job.state == "done", job.error
    # person 1: 20,000.00 − 8,000.00 − 2,000.00 − 1,000.00 = 9,000.00 self-paid; person 3: 30,000.00 − 5,000.00
    # = 25,000.00; both above the 5,000 start line → 2 claims, read with the saved profile
    assert (job.result["rows_stored"], job.result["claims_created"], job.result["profile"]) == (2, 2, "某县医保")
    assert not any((tmp_path / "pending").iterdir())  # both held uploads removed once read
    app.extensions["relief_engine"].dispose()
