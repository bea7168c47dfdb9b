"""What the print-ready documents show and what their background jobs are given, shared by the pages and by
:mod:`flask_app.document_jobs` (which the pages do not import: it builds the app to render the templates).

* :func:`notice_context`: a notice's header and its sheets with their QR codes (the notice page, its PDF and the
  notices of every village all show this);
* :func:`notice_params`, :func:`report_params`: what a job takes from the request and the configuration (the
  address a QR code leads to, the hotline, the app's date, the outputs folder);
* :func:`outputs_folder`: where jobs leave their files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from claims.lifecycle.models import Notice
from claims.lifecycle.notice_sheets import notice_sheets
from claims.lifecycle.notices import notice_table
from flask_app.qr import qr_data_uri

#: Which notices of a policy the all-villages job prints: those on display (公示中) or every one posted.
NOTICE_CHOICES = {"posted": "公示中的公示 / the notices on display", "all": "全部公示 / every notice"}
#: The folder under the instance folder where jobs leave their files.
OUTPUTS = "job-outputs"


def outputs_folder(config: Any, instance_path: str) -> Path:
    """Where the jobs' output files live: ``RELIEF_JOB_OUTPUTS`` or ``<instance>/job-outputs``."""
    return Path(config.get("RELIEF_JOB_OUTPUTS") or Path(instance_path) / OUTPUTS)


def notice_context(session: Session, write: Session, notice: Notice, *, link: Callable[[str], str],
                   hotline: str | None) -> dict[str, Any]:
    """What a notice's print-ready page shows: its header and its sheets (行政村 first, then each 自然村), each with
    the QR code of ``link(digest)``; ``hotline`` stands in when the notice kept none.  ``write`` files the digests
    of a notice posted before they were kept (:func:`claims.lifecycle.notice_sheets.notice_sheets`)."""
    head = notice_table(session, notice.id).attrs
    sheets = notice_sheets(write, notice.id)
    return {"notice": notice, "sheets": [{"sheet": sh, "qr": qr_data_uri(link(sh.digest)), "verify_url": link(sh.digest)}
                                         for sh in sheets],
            "title": sheets[0].title, "village_name": sheets[0].village_name,
            "posted_on": head["posted_on"], "end_on": head["end_on"], "days": head["days"],
            "hotline": head.get("hotline") or hotline, "total": head["total"], "count": len(sheets[0].rows)}


def notice_params(policy_id: int, which: str, *, verify_prefix: str, hotline: str | None, output_dir: Path) -> dict:
    """The params of :func:`village_notices`: ``verify_prefix`` + ``/`` + digest is where a QR code leads;
    ``hotline`` the deployment's (``RELIEF_NOTICE_HOTLINE``), shown after the county's own on a notice that kept
    none (:func:`flask_app.display.hotline`)."""
    return {"policy_id": policy_id, "which": which if which in NOTICE_CHOICES else "posted",
            "verify_prefix": verify_prefix.rstrip("/"), "hotline": hotline, "output_dir": str(output_dir)}


def report_params(policy_id: int, period: str, *, today: dt.date, output_dir: Path) -> dict:
    """The params of :func:`upward_report`: ``today`` is the app's date printed as 制表日期."""
    return {"policy_id": policy_id, "period": period, "today": today.isoformat(), "output_dir": str(output_dir)}


__all__ = ["NOTICE_CHOICES", "OUTPUTS", "notice_context", "notice_params", "outputs_folder", "report_params"]
