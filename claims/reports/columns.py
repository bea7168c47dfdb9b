"""What each department's report holds: canonical columns, their kind, accepted Chinese headers,
which are required, and the derivation that runs afterwards.

Column kinds (parsers in :mod:`claims.reports.parse`):

=============== ==================================================== =====================
kind            cell                                                 dtype in ``rows``
=============== ==================================================== =====================
id              resident ID, normalised to 18 characters             str
key             code kept as text (setl_id, household_no)            str
text            optional text (name); blank → <NA>                   str
required_text   text; blank → ``missing_value``                      str
level           school level; blank → ``missing_level``              str
date            date → midnight                                      datetime64[ns]
money           yuan → fen; blank → ``amount_missing``               int64
money_or_zero   yuan → fen; blank → 0                                int64
money_or_null   yuan → fen; blank → <NA>                             Int64
school_year     first year of the school year                        int64
flag            yes/no                                               bool
kind            death / disability / hospital                        str
grade           disability grade 1–10                                Int64
village_code    12-digit village code, optional                      str
=============== ==================================================== =====================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from . import departments
from .parse import Problems

ID_ALIASES = ["身份证号", "身份证号码", "公民身份号码", "证件号码"]
NAME_ALIASES = ["姓名"]
HOUSEHOLD_ALIASES = ["户编号", "户号"]


@dataclass(frozen=True)
class Col:
    kind: str
    aliases: list[str]


@dataclass(frozen=True)
class Spec:
    """One department's report: its columns (in output order), the required ones, the derivation, the
    derived columns it appends and the columns naming one record (its identity: rows with equal values
    there are the same record, re-sent or corrected; see :mod:`claims.reports.identity`)."""

    columns: dict[str, Col]
    required: tuple[str, ...]
    derive: Callable[[pd.DataFrame, pd.DataFrame, Problems], pd.DataFrame]
    derived: dict[str, str] = field(default_factory=dict)  # derived column -> dtype
    identity: tuple[str, ...] = ()

    @property
    def column_map(self) -> dict[str, list[str]]:
        return {name: col.aliases for name, col in self.columns.items()}

    @property
    def output(self) -> list[str]:
        return [*self.columns, *self.derived, "source_file", "source_line"]


SPECS: dict[str, Spec] = {
    # 医保结算 (NHSA setlinfo field names)
    "medical": Spec(
        columns={
            "setl_id": Col("key", ["结算ID", "结算编号", "结算流水号", "就诊结算号"]),
            "id_no": Col("id", ID_ALIASES),
            "name": Col("text", NAME_ALIASES),
            "setl_date": Col("date", ["结算日期", "结算时间", "出院日期"]),
            "medfee_sumamt": Col("money", ["医疗费总额", "医疗总费用", "总费用"]),
            "hifp_pay": Col("money_or_zero", ["统筹基金支出", "基本医疗保险统筹基金支出", "基本医保统筹支付"]),
            "hifmi_pay": Col("money_or_zero", ["大病保险", "居民大病保险资金支出", "大病保险支付"]),
            "maf_pay": Col("money_or_zero", ["医疗救助", "医疗救助基金支出", "医疗救助支付"]),
            "oth_pay": Col("money_or_zero", ["其他支出", "其他基金支付", "其他支付"]),
            "fulamt_ownpay_amt": Col("money_or_zero", ["全自费金额", "全自费"]),
            "overlmt_selfpay": Col("money_or_zero", ["超限价自费", "超限价自费费用"]),
            "psn_part_amt": Col("money_or_null", ["个人负担总金额", "个人负担"]),
        },
        required=("setl_id", "id_no", "setl_date", "medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay",
                  "oth_pay", "fulamt_ownpay_amt", "overlmt_selfpay"),
        derive=departments.medical,
        derived={"self_paid": "int64", "policy_self_paid": "int64"},
        identity=("setl_id",),
    ),
    # 教育
    "education": Spec(
        columns={
            "id_no": Col("id", ID_ALIASES),
            "name": Col("text", NAME_ALIASES),
            "school_year": Col("school_year", ["学年"]),
            "level": Col("level", ["学段", "层次", "就读层次", "学历层次"]),
            "tuition": Col("money_or_zero", ["学费"]),
            "accommodation": Col("money_or_zero", ["住宿费"]),
            "textbooks": Col("money_or_zero", ["教材费", "书本费", "教科书费"]),
            "other_aid": Col("money_or_zero", ["其他资助", "已获资助", "资助金额"]),
            "entry": Col("flag", ["是否新生", "是否录取", "升学"]),
            "record_no": Col("text", ["记录编号", "业务编号", "资助编号"]),
        },
        required=("id_no", "school_year", "level", "tuition", "accommodation", "textbooks"),
        derive=departments.education,
        derived={"event_date": "datetime64[ns]", "net_cost": "int64"},
        # fees are columns of one row: the row is the record (no fee item in the key)
        identity=("id_no", "school_year", "record_no"),
    ),
    # 应急管理 / 民政
    "disaster": Spec(
        columns={
            "household_no": Col("key", HOUSEHOLD_ALIASES),
            "village_code": Col("village_code", ["村代码", "行政村代码", "村级区划代码", "统计用区划代码"]),
            "event_date": Col("date", ["受灾日期", "灾害发生日期", "发生日期"]),
            "disaster_type": Col("required_text", ["灾害类型", "灾种", "损失类型"]),
            "assessed_loss": Col("money", ["核定损失", "评估损失", "直接经济损失"]),
            "other_compensation": Col("money_or_zero", ["其他赔偿", "保险赔偿", "其他补偿"]),
            "disaster_no": Col("text", ["灾情编号", "灾害编号", "灾情报告编号"]),
        },
        required=("household_no", "event_date", "disaster_type", "assessed_loss"),
        derive=departments.disaster,
        derived={"net_loss": "int64"},
        identity=("household_no", "event_date", "disaster_type", "disaster_no"),
    ),
    # 意外 (公安/卫健/医保 …)
    "accident": Spec(
        columns={
            "id_no": Col("id", ID_ALIASES),
            "name": Col("text", NAME_ALIASES),
            "event_date": Col("date", ["事故日期", "出险日期", "发生日期"]),
            "kind": Col("kind", ["类型", "事故类型", "出险类型"]),
            "grade": Col("grade", ["伤残等级", "等级"]),
            "medical_cost": Col("money_or_zero", ["医疗费用", "医疗费"]),
        },
        required=("id_no", "event_date", "kind"),
        derive=departments.accident,
        identity=("id_no", "event_date", "kind"),
    ),
    # 人社 / 乡村振兴
    "income": Spec(
        columns={
            "household_no": Col("key", HOUSEHOLD_ALIASES),
            "as_of": Col("date", ["统计日期", "截至日期", "时间"]),
            "per_capita_income": Col("money", ["家庭人均纯收入", "人均纯收入", "人均收入"]),
        },
        required=("household_no", "as_of", "per_capita_income"),
        derive=departments.income,
        identity=("household_no", "as_of"),
    ),
}

#: Kinds whose cell problems the derivation reports itself (a grade only matters for a disability).
SELF_CHECKED_KINDS = {"grade"}

DEPARTMENTS = tuple(SPECS)
