"""API /api/v1/imports: upload a department file (multipart; optionally read with a named column-mapping
profile, else with the saved profile that fits a file whose required columns are not recognised), the batch
history, a batch's exceptions, the saved mapping profiles."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from claims.lifecycle.imports import ImportRefusedError
from claims.lifecycle.mapping_profiles import NAME_MAX, import_mapped, list_profiles
from claims.lifecycle.models import ImportBatch, ImportException
from claims.lifecycle.scope import scoped
from claims.reports import DEPARTMENTS, ReportFileError
from flask_app import db, uploads
from flask_app.api.claims import Timestamp, refuse
from flask_app.api.inputs import Text
from flask_app.api.products import default_policy_id
from flask_app.permissions import INSURER, allow

blp = Blueprint("api_imports", __name__, url_prefix="/api/v1/imports",
                description="导入 / department file imports")

ROLES = INSURER | {"admin"}


class ImportBatchSchema(Schema):
    id = fields.Integer(required=True)
    policy_id = fields.Integer(required=True)
    department = fields.String(required=True)
    file_name = fields.String(required=True)
    period = fields.String(allow_none=True)
    rows_read = fields.Integer(required=True)
    rows_stored = fields.Integer(required=True)
    rows_exception = fields.Integer(required=True)
    rows_duplicate = fields.Integer(required=True)
    rows_corrected = fields.Integer(required=True, metadata={
        "description": "更正此前记录的行（已入库）/ rows stored as corrections of earlier records"})
    imported_by = fields.Integer(allow_none=True)
    imported_at = Timestamp(required=True)


class ImportFormSchema(Schema):
    department = fields.String(required=True, validate=validate.OneOf(list(DEPARTMENTS)),
                               metadata={"description": "报送部门 / department"})
    period = Text(validate=validate.Length(max=20), metadata={"description": "期间 / period, e.g. 2025-03"})
    policy_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                               metadata={"description": "保单 / policy (default: the newest)"})
    mapping_profile = Text(validate=validate.Length(min=1, max=NAME_MAX), metadata={
        "description": "列映射方案名称（不给则在必需列无法识别时自动选用表头相符的方案）/ column-mapping profile "
                       "name (without it, a file whose required columns are not recognised is read with the saved "
                       "profile whose headers all appear in it)"})


class ImportFileSchema(Schema):
    file = Upload(required=True, metadata={"description": "部门报表 / the department's file (xlsx or csv)"})


class ImportResultSchema(Schema):
    batch_id = fields.Integer(required=True)
    rows_read = fields.Integer(required=True)
    rows_stored = fields.Integer(required=True)
    rows_exception = fields.Integer(required=True)
    rows_duplicate = fields.Integer(required=True)
    rows_corrected = fields.Integer(required=True, metadata={
        "description": "更正此前记录的行（已入库）/ rows stored as corrections of earlier records"})
    claims_created = fields.Integer(required=True)
    claims_updated = fields.Integer(required=True)
    claims_withdrawn = fields.Integer(required=True)
    mapping_profile = fields.String(allow_none=True, metadata={"description": "读取列所用的映射方案 / the "
                                                                              "mapping profile that read the columns"})


class MappingProfileSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    department = fields.String(required=True)
    columns = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                          metadata={"description": "列名 → 文件表头 / canonical column → the file's header"})
    created_by = fields.Integer(allow_none=True)
    created_at = Timestamp(required=True)


class MappingProfileQuerySchema(Schema):
    department = fields.String(validate=validate.OneOf(list(DEPARTMENTS)), metadata={"description": "部门 / department"})


class ImportExceptionSchema(Schema):
    id = fields.Integer(required=True)
    line = fields.Integer(required=True, metadata={"description": "文件行号 / line in the file"})
    reason = fields.String(required=True)
    detail = fields.String(required=True)
    severity = fields.String(required=True)


@blp.route("")
class ImportList(MethodView):
    @blp.response(200, ImportBatchSchema(many=True))
    def get(self):
        """导入批次历史 / import batches, newest first"""
        return db.session().scalars(scoped(current_user.scope, select(ImportBatch), None, policy=ImportBatch.policy_id)
                                    .order_by(ImportBatch.id.desc())).all()

    @blp.arguments(ImportFormSchema, location="form")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(201, ImportResultSchema)
    @blp.alt_response(409, description="文件已导入 / already imported (application/problem+json)")
    def post(self, form: dict[str, Any], files: dict[str, Any]):
        """上传部门报表 / import one department file (multipart)

        A file whose required columns are not recognised (and that no saved mapping profile fits) is refused
        with 422 problem details whose ``unmatched`` member holds the missing columns, the ones matched, the
        headers found and their line."""
        policy_id = default_policy_id(form.get("policy_id"))
        upload = files["file"]
        try:
            with uploads.saved(upload) as path:  # read from disk, never the whole body in memory twice
                done = import_mapped(db.factory(), policy_id, form["department"], path,
                                     actor=current_user.actor, file_name=upload.filename or "upload",
                                     period=form.get("period"), profile=form.get("mapping_profile"))
        except (ImportRefusedError, ReportFileError):
            raise  # flask_app.problems answers them: 409 already imported, 422 with the columns not recognised
        except ValueError as exc:  # any other input error, or one the file readers let through: a refused import
            refuse(exc, slug="import-refused", title="导入被拒绝 / import refused")
        return {**asdict(done.result), "mapping_profile": done.profile}


@blp.route("/mapping-profiles")
class MappingProfiles(MethodView):
    @blp.arguments(MappingProfileQuerySchema, location="query")
    @blp.response(200, MappingProfileSchema(many=True))
    def get(self, query: dict[str, Any]):
        """列映射方案 / saved column-mapping profiles (export one as YAML from the import page)"""
        return list_profiles(db.session(), query.get("department"))


@blp.route("/<int:batch_id>/exceptions")
class ImportExceptions(MethodView):
    @blp.response(200, ImportExceptionSchema(many=True))
    def get(self, batch_id: int):
        """批次异常行（含行号）/ a batch's exceptions with their line numbers"""
        session = db.session()
        query = select(ImportBatch.id).where(ImportBatch.id == batch_id)
        if session.scalar(scoped(current_user.scope, query, None, policy=ImportBatch.policy_id)) is None:
            abort(404, message=f"导入批次 {batch_id} 不存在 / import batch {batch_id} does not exist")
        return session.scalars(select(ImportException).where(ImportException.batch_id == batch_id)
                               .order_by(ImportException.line, ImportException.id)).all()


allow("api_imports.ImportList", ROLES)
allow("api_imports.ImportExceptions", ROLES)
allow("api_imports.MappingProfiles", ROLES)
