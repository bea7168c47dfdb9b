"""Mapping profiles: a department's column mapping saved under a name, found again for a later file.

A profile maps canonical columns to the header text a county's files use (the document format of
:mod:`claims.reports.mapping`).  A later file of the department is read with the profile whose headers
**all** appear in the file's header row (compared by :func:`tabular.headers.header_key`); of several,
the one mapping the most columns, then the newest.

:func:`import_mapped` is the import the web page, the API and ``relief import`` share:

1. a mapping given (``columns=``, or a profile named by ``profile=``) reads the file with it;
2. otherwise the file is read as it is, and only when its required columns are not recognised, with the
   saved profile that fits its header row (the result names it); no profile fits → the refusal stands,
   carrying :class:`claims.reports.reader.UnmatchedColumns` for the mapping page;
3. ``save_as=`` saves the columns used as a new profile once the import has landed (the name is checked
   free first, so a taken name refuses before anything is stored; taken in the moment between, the import
   stands and the result says why the profile was not saved).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from claims.lifecycle.database import transaction
from claims.lifecycle.imports import ImportRefusedError, ImportResult, import_report
from claims.lifecycle.models import MappingProfile
from claims.lifecycle.store import now
from claims.lifecycle.transitions import Actor
from claims.reports import ReportFileError
from claims.reports.mapping import MappingError, check_columns, mapping_yaml
from tabular.files import source_name
from tabular.headers import header_key

#: Longest profile name: the column's width.
NAME_MAX: int = MappingProfile.__table__.c.name.type.length


class ProfileError(ImportRefusedError):
    """A profile that cannot be saved or used (name taken, unknown, invalid); nothing was changed."""


@dataclass(frozen=True)
class MappedImport:
    result: ImportResult
    profile: str | None  # the saved profile whose mapping read the file (None: aliases or a given mapping)
    saved: str | None  # the profile saved by this import
    save_refused: str | None = None  # why ``save_as`` was not saved after the import landed (a name taken meanwhile)


def _checked_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise ProfileError(f"映射方案名称应为 1–{NAME_MAX} 个字符 / the mapping profile name must be 1–{NAME_MAX} "
                           f"characters")
    return name


def _taken(session: Session, department: str, name: str) -> bool:
    return session.scalar(select(func.count()).select_from(MappingProfile).where(
        MappingProfile.department == department, MappingProfile.name == name)) > 0


def _refuse_taken(department: str, name: str) -> ProfileError:
    return ProfileError(f"部门 {department} 已有名为“{name}”的映射方案，请换一个名称 / department {department} "
                        f"already has a mapping profile named {name!r}; choose another name")


def save_profile(session: Session, department: str, name: str, columns: Mapping[str, str],
                 actor: Actor) -> MappingProfile:
    """Store a new profile; a name already used in the department is refused (profiles are not edited
    in place: a file read with one keeps meaning what it meant)."""
    name = _checked_name(name)
    try:
        checked = check_columns(department, columns, name)
    except MappingError as exc:
        raise ProfileError(str(exc)) from exc
    if _taken(session, department, name):
        raise _refuse_taken(department, name)
    profile = MappingProfile(name=name, department=department, columns=checked, created_by=actor.id, created_at=now())
    session.add(profile)
    try:
        session.flush()
    except IntegrityError as exc:  # saved by someone else since the check (unique department + name)
        raise _refuse_taken(department, name) from exc
    return profile


def list_profiles(session: Session, department: str | None = None) -> list[MappingProfile]:
    query = select(MappingProfile).order_by(MappingProfile.department, MappingProfile.name)
    if department is not None:
        query = query.where(MappingProfile.department == department)
    return list(session.scalars(query))


def get_profile(session: Session, department: str, name: str) -> MappingProfile:
    profile = session.scalar(select(MappingProfile).where(MappingProfile.department == department,
                                                          MappingProfile.name == name))
    if profile is None:
        raise ProfileError(f"部门 {department} 没有名为“{name}”的映射方案 / department {department} has no mapping "
                           f"profile named {name!r}")
    return profile


def find_profile(session: Session, department: str, headers: Sequence[str]) -> MappingProfile | None:
    """The department's profile whose headers all appear in ``headers`` (most columns, then newest)."""
    keys = {header_key(h) for h in headers}
    fits = [p for p in list_profiles(session, department) if all(header_key(h) in keys for h in p.columns.values())]
    return max(fits, key=lambda p: (len(p.columns), p.created_at, p.id), default=None)


def profile_yaml(profile: MappingProfile) -> str:
    """The profile as a mapping document (``relief calc --mapping`` / ``relief import --mapping`` read it)."""
    return mapping_yaml(profile.department, profile.columns, profile.name)


def import_mapped(factory: sessionmaker[Session], policy_id: int, department: str,
                  source: str | Path | IO[bytes] | bytes, *, actor: Actor, file_name: str | None = None,
                  period: str | None = None, columns: Mapping[str, str] | None = None, profile: str | None = None,
                  save_as: str | None = None, progress: Callable[[str], None] | None = None) -> MappedImport:
    """Import one department file with a mapping given, named, or found (see the module docstring)."""
    if save_as is not None:
        save_as = _checked_name(save_as)
        if not columns:
            raise ProfileError("保存映射方案需要给出列映射 / saving a mapping profile needs the column mapping")
        with factory() as session:
            if _taken(session, department, save_as):
                raise _refuse_taken(department, save_as)
    if not isinstance(source, (bytes, str, Path)):  # a stream is read once: the file may be read twice
        file_name = file_name or source_name(source)
        source = source.read()
    used: str | None = None
    if columns is None and profile is not None:
        with factory() as session:
            columns, used = dict(get_profile(session, department, profile).columns), profile

    def run(mapping: Mapping[str, str] | None) -> ImportResult:
        return import_report(factory, policy_id, department, source, actor=actor, file_name=file_name,
                             period=period, progress=progress, columns=mapping)

    if columns is not None:
        result = run(columns)
    else:
        try:
            result = run(None)
        except ReportFileError as exc:
            if exc.unmatched is None:
                raise
            with factory() as session:
                found = find_profile(session, department, exc.unmatched.headers)
                if found is None:
                    raise
                columns, used = dict(found.columns), found.name
            result = run(columns)
    if save_as is None:
        return MappedImport(result=result, profile=used, saved=None)
    try:
        with transaction(factory) as session:
            save_profile(session, department, save_as, columns, actor)
    except ProfileError as exc:
        return MappedImport(result=result, profile=used, saved=None, save_refused=str(exc))
    return MappedImport(result=result, profile=used, saved=save_as)
