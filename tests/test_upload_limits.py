"""Bounded uploads (issue 13, item 2): a body over ``MAX_CONTENT_LENGTH`` is answered 413 before it is read,
signed in or not (problem details for the API, the error page for a browser); a chunked body is cut off at the
limit; under ``relief serve`` (waitress) the server's memory does not grow by the body's size; a zip bomb
(a valid xlsx of ~1 MB whose sheet unzips to 500 MB) is refused within a second, through the API and by
``tabular`` directly; a normal upload still imports."""

from __future__ import annotations

import io
import socket
import time
import zipfile
from pathlib import Path

import psutil
import pytest
from serve_helpers import relief_serve
from test_api import auth, make_app, medical_bytes

from flask_app import create_app
from flask_app.uploads import server_body_limit
from tabular.files import TableError, WorkbookTooLargeError, read_grids

MB = 1024 * 1024


class Untouchable(io.RawIOBase):
    """A request body that records how much of it was read (``size`` bytes of zeros)."""

    def __init__(self, size: int):
        self.size, self.pos, self.taken = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # the test client measures the stream by seeking
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer) -> int:  # noqa: ANN001
        n = max(0, min(len(buffer), self.size - self.pos))
        buffer[:n] = b"0" * n
        self.pos += n
        self.taken += n
        return n


@pytest.fixture
def small_limit_app(tmp_path):
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "t", "TESTING": True,
                       "MAX_CONTENT_LENGTH": 1 * MB})


@pytest.mark.parametrize(("path", "headers", "kind"), [
    ("/api/v1/imports", {}, "application/problem+json"),  # anonymous, API
    ("/api/v1/imports", auth("admin"), "application/problem+json"),  # a (would-be) token, API
    ("/imports", {}, "text/html"),  # anonymous browser
    ("/login", {}, "text/html"),  # a form anyone may post
])
def test_a_declared_body_over_the_limit_is_413_unread(small_limit_app, path, headers, kind):
    body = Untouchable(200 * MB)
    r = small_limit_app.test_client().post(path, input_stream=body, headers=headers, environ_overrides={
        "CONTENT_LENGTH": str(200 * MB), "CONTENT_TYPE": "multipart/form-data; boundary=x"})
    assert r.status_code == 413
    assert r.mimetype == kind
    assert body.taken == 0  # not one byte read: neither login, CSRF nor the form parser came first
    text = r.get_data(as_text=True)
    assert "1 MB" in text and "RELIEF_MAX_UPLOAD_MB" in text
    if kind == "application/problem+json":
        assert r.json["type"] == "/problems/too-large" and r.json["status"] == 413
    else:
        assert "<html" in text.lower() and '"type"' not in text


@pytest.mark.parametrize(("path", "kind", "status"), [
    ("/api/v1/imports", "multipart/form-data; boundary=x", 413),
    ("/imports", "multipart/form-data; boundary=x", 413),
    # a urlencoded form is read whole up to the limit and parsed as it stands: its CSRF token is missing (400)
    ("/login", "application/x-www-form-urlencoded", 400),
])
def test_a_chunked_body_is_cut_off_at_the_limit(small_limit_app, path, kind, status):
    body = Untouchable(200 * MB)
    r = small_limit_app.test_client().post(path, input_stream=body, environ_overrides={
        "wsgi.input_terminated": True, "CONTENT_TYPE": kind}, headers={"Transfer-Encoding": "chunked"})
    assert r.status_code == status
    assert 0 < body.taken <= 1 * MB  # read while streaming, stopped at the limit


def test_the_signed_in_api_answers_413_and_a_normal_upload_still_imports(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    app.config.update(MAX_CONTENT_LENGTH=1 * MB, RELIEF_PENDING_UPLOADS=str(tmp_path / "pending"))
    client = app.test_client()
    body = Untouchable(50 * MB)
    r = client.post("/api/v1/imports", input_stream=body, headers=auth("admin"), environ_overrides={
        "CONTENT_LENGTH": str(50 * MB), "CONTENT_TYPE": "multipart/form-data; boundary=x"})
    assert (r.status_code, r.json["type"], body.taken) == (413, "/problems/too-large", 0)
    march = medical_bytes([("S1", 1, "2025-03-01", 9000), ("S3", 3, "2025-03-05", 12000)])
    r = client.post("/api/v1/imports", headers=auth("admin"), content_type="multipart/form-data",
                    data={"department": "medical", "period": "2025-03", "file": (io.BytesIO(march), "march.csv")})
    assert r.status_code == 201, r.json
    assert (r.json["rows_read"], r.json["rows_stored"], r.json["claims_created"]) == (2, 2, 2)
    assert list((tmp_path / "pending").iterdir()) == []  # the upload's temporary copy is gone
    app.extensions["relief_engine"].dispose()


# --- the zip bomb ------------------------------------------------------------------------------------------

def workbook(sheet_mb: int, dimension: str = "A1:A1") -> bytes:
    """A valid xlsx whose one sheet holds ``sheet_mb`` MB of highly compressible rows (about 1/400 on disk)."""
    buf = io.BytesIO()
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats'
                   '-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
                   'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
                   '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" '
                   f'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
                   f'<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" '
                   f'Target="worksheets/sheet1.xml"/></Relationships>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(f'<?xml version="1.0"?><worksheet xmlns="{main}"><dimension ref="{dimension}"/><sheetData>'
                    '<row r="1"><c r="A1" t="inlineStr"><is><t>结算ID</t></is></c></row>'.encode())
            piece = b"<row><c><v>1</v></c></row>" * 40000
            for _ in range(-(-sheet_mb * MB // len(piece))):  # rounded up: at least sheet_mb MB
                f.write(piece)
            f.write(b"</sheetData></worksheet>")
    return buf.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = workbook(500)
    assert len(data) < 3 * MB
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sum(m.file_size for m in z.infolist()) >= 500 * MB
    return data


def test_tabular_refuses_the_zip_bomb_within_a_second(bomb):
    started = time.perf_counter()
    with pytest.raises(WorkbookTooLargeError, match="over the limit of 300 MB") as caught:
        read_grids(io.BytesIO(bomb), "bomb.xlsx")
    assert time.perf_counter() - started < 1.0
    assert "工作簿解压后" in str(caught.value) and "bomb.xlsx" in str(caught.value)


def test_tabular_refuses_too_many_declared_cells_and_reads_a_normal_workbook(monkeypatch):
    monkeypatch.setenv("RELIEF_MAX_CELLS", "1000000")
    with pytest.raises(WorkbookTooLargeError, match="declares 2,000,000 cells, over the limit of 1,000,000"):
        read_grids(io.BytesIO(workbook(0, "A1:B1000000")), "wide.xlsx")
    monkeypatch.setenv("RELIEF_MAX_XLSX_UNCOMPRESSED_MB", "2")
    with pytest.raises(WorkbookTooLargeError, match="over the limit of 2 MB"):
        read_grids(io.BytesIO(workbook(3)), "three.xlsx")
    name, kind, [(sheet, grid, lines, _)] = read_grids(io.BytesIO(workbook(1, "A1:A40000")), "small.xlsx")
    assert (kind, sheet, grid.iloc[0, 0], len(grid)) == ("excel", "Sheet1", "结算ID", 80001)
    with pytest.raises(TableError, match="damaged archive"):
        read_grids(io.BytesIO(workbook(0)[:-30]), "cut.xlsx")


def test_the_api_refuses_the_zip_bomb_within_a_second(db_url, tmp_path, bomb):
    app = make_app(db_url, tmp_path)
    client = app.test_client()
    started = time.perf_counter()
    r = client.post("/api/v1/imports", headers=auth("admin"), content_type="multipart/form-data",
                    data={"department": "medical", "file": (io.BytesIO(bomb), "bomb.xlsx")})
    elapsed = time.perf_counter() - started
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert "over the limit of 300 MB" in r.json["detail"] and "工作簿解压后" in r.json["detail"]
    assert elapsed < 1.0, elapsed
    assert client.get("/api/v1/imports", headers=auth("admin")).json == []  # nothing was stored
    app.extensions["relief_engine"].dispose()


# --- a real server: memory ----------------------------------------------------------------------------------

def _csv_upload(size: int) -> tuple[bytes, bytes]:
    """A multipart body with a real medical CSV of about ``size`` bytes (distinct rows), and its content type."""
    row = medical_bytes([("S1", 1, "2025-03-01", 9000)]).split(b"\n", 1)[1]
    header = medical_bytes([]).rstrip(b"\r\n") + b"\r\n"
    rows = b"".join(row.replace(b"S1,", f"S{i},".encode(), 1) for i in range(size // len(row)))
    boundary = b"relief-test-boundary"
    body = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="department"\r\n\r\nmedical\r\n--'
            + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n" + header + rows + b"\r\n--" + boundary + b"--\r\n")
    return body, b"multipart/form-data; boundary=" + boundary


def _post(port: int, body: bytes, content_type: bytes, token: str) -> bytes:
    """POST ``body`` to the import API with a token, sent in 1 MB pieces; the server's answer."""
    head = (b"POST /api/v1/imports HTTP/1.1\r\nHost: x\r\nContent-Type: " + content_type
            + f"\r\nAuthorization: Bearer {token}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            .encode())
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(head)
        try:
            for at in range(0, len(body), MB):
                s.sendall(body[at:at + MB])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the whole body arrived
        answer = b""
        try:
            while data := s.recv(65536):
                answer += data
        except ConnectionResetError:
            pass
    return answer


def _peak_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM, MB)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux) for the peak RSS")
def test_relief_serve_refuses_big_uploads_without_growing_by_their_size(tmp_path):
    """A signed-in API client posts real CSV files over a 10 MB limit to ``relief serve``: 15 MB (under the
    server's cap of 20 MB: spooled to disk by waitress, refused by the app) and 50 MB (refused by waitress
    before it is read).  Without the limit the first would be imported (the server then grows by hundreds
    of MB); with it, the server's peak RSS grows by less than the smaller body."""
    url = f"sqlite:///{tmp_path / 'relief.db'}"
    from claims.lifecycle.database import upgrade

    upgrade(url)
    make_app(url, tmp_path).extensions["relief_engine"].dispose()  # product, policy, roster, a token per role
    env = {"SECRET_KEY": "t", "RELIEF_MAX_UPLOAD_MB": "10", "RELIEF_TODAY": "2025-04-01"}
    with relief_serve(url, env, threads=2) as (port, proc):
        small, kind = _csv_upload(2000)
        warm = _post(port, small, kind, "token-admin")  # a normal upload imports (and loads the whole app)
        assert warm.startswith(b"HTTP/1.1 201"), warm[:500]
        before = _peak_mb(proc.pid)
        body, kind = _csv_upload(15 * MB)
        over = _post(port, body, kind, "token-admin")
        assert over.startswith(b"HTTP/1.1 413") and b"/problems/too-large" in over, over[:500]
        body, kind = _csv_upload(50 * MB)
        huge = _post(port, body, kind, "token-admin")
        assert huge.startswith(b"HTTP/1.1 413"), huge[:300]
        grown = _peak_mb(proc.pid) - before
        assert grown < 15, f"peak RSS grew by {grown:.0f} MB"
        assert psutil.Process(proc.pid).memory_info().rss / MB - before < 15


def test_the_server_cap_is_twice_the_app_limit():
    assert server_body_limit({"MAX_CONTENT_LENGTH": 10 * MB}) == 20 * MB
    assert server_body_limit({"MAX_CONTENT_LENGTH": None}) == 1 << 30
