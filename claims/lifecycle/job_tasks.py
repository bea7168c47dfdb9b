"""The background jobs' tasks (:data:`claims.lifecycle.jobs.TASKS`): each is ``task(factory, params, progress)
-> result``, calls the same service as the page or the CLI, and owns its transactions."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from claims.lifecycle.database import transaction
from claims.lifecycle.jobs import JobError, Progress
from claims.lifecycle.transitions import Actor
from claims.reports import ReportFileError


def recompute_policy(factory: sessionmaker[Session], params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Recompute every claim of ``params["policy_id"]`` (重新计算): the engine over everything imported."""
    from claims.lifecycle.recompute import recompute

    progress(5, "读取已导入的报告 / reading the imported reports")
    with transaction(factory) as s:
        result = recompute(s, int(params["policy_id"]))
    return result._asdict()


#: What a large file whose headers are not recognised needs (its columns are mapped on the page for small files).
MAP_A_SAMPLE = ("大文件请先上传其前几行在导入页映射列并保存映射方案，再上传整个文件（按方案自动读取），或用 relief import "
                "--mapping / for a large file, upload its first rows, map their columns on the import page and save the "
                "profile, then upload the whole file (read with that profile), or use relief import --mapping")


def import_file(factory: sessionmaker[Session], params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Import a stored upload (``params["path"]``, deleted afterwards) for a policy as the import page does
    (:func:`claims.lifecycle.mapping_profiles.import_mapped`: the columns given, or a saved mapping profile found
    by the file's headers): the department file's rows, then the claims it touches, with the reader's stages as
    progress.  The result is the import's figures, its ``batch_id`` (the import report) and the ``profile`` used."""
    from claims.lifecycle.mapping_profiles import import_mapped

    path = Path(params["path"])
    if not path.is_file():
        raise JobError(f"上传的文件已不存在 / the uploaded file is gone: {path.name}")
    stages = iter(range(10, 95, 5))

    def heard(message: str) -> None:
        progress(next(stages, 95), message)

    actor = Actor(id=params.get("actor_id"), role=params.get("actor_role", "system"), name=params.get("actor_name"))
    try:
        done = import_mapped(factory, int(params["policy_id"]), params["department"], path, actor=actor,
                             file_name=params.get("file_name"), period=params.get("period"), progress=heard,
                             columns=params.get("columns"))
    except ReportFileError as exc:
        if exc.unmatched is None:
            raise
        raise JobError(f"{exc} — {MAP_A_SAMPLE}") from exc
    finally:
        path.unlink(missing_ok=True)
    return {**dataclasses.asdict(done.result), "profile": done.profile}


__all__ = ["import_file", "recompute_policy"]
