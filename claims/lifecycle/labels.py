"""One table of the Chinese label of every code a page, filter, badge or export shows (issue 15.4: "every
code shown with its Chinese label"): ``LABELS[kind][code]``.

Each kind is derived from the table that defines its codes, never copied: claim states and actions from
:mod:`claims.lifecycle.workflow` (``STATES``, ``ACTIONS``, the table behind ``TRANSITIONS``), perils from
:data:`products.model.PERILS` (``zh``), departments from :data:`claims.reports.departments.SPECS` (``label``),
roles from :data:`claims.lifecycle.users.ROLES`, jobs, recoveries, payout batches and lines, 防贫监测 and
fund payers from their modules.  The kinds that had no home in the service layer (notice and application
states, application channels) are defined here and read by their pages.

:func:`label` gives the code itself where the table has none, so an unknown code still shows.
"""

from __future__ import annotations

from collections.abc import Mapping

from claims.lifecycle import workflow
from claims.lifecycle.batch_cosign import BATCH_STATES
from claims.lifecycle.fund import PAYERS
from claims.lifecycle.jobs import STATES as JOB_STATES
from claims.lifecycle.monitoring import WATCH_ACTIONS, WATCH_STATES
from claims.lifecycle.payout_lists import LINE_STATES
from claims.lifecycle.recovery import STATES as RECOVERY_STATES
from claims.lifecycle.users import ROLES
from claims.reports.departments import SPECS
from products.model import PERILS

#: 公示 states (``notices.state``).
NOTICE_STATES: dict[str, str] = {"posted": "公示中", "ended": "已结束"}
#: 申报 states and how an application reached the county (``applications.state``, ``applications.channel``).
APPLICATION_STATE_NAMES: dict[str, str] = {"submitted": "待核实", "verified": "已核实", "duplicate": "重复",
                                      "rejected": "已驳回"}
APPLICATION_CHANNEL_NAMES: dict[str, str] = {"village": "村委会代报", "hotline": "12317热线", "self": "农户自行申报"}


def _chinese(table: Mapping[str, str]) -> dict[str, str]:
    """``"排队中 / queued"`` → ``"排队中"``: the Chinese half of a bilingual label."""
    return {code: text.split(" / ")[0] for code, text in table.items()}


#: kind → code → Chinese label.
LABELS: dict[str, dict[str, str]] = {
    "state": dict(workflow.STATES),
    "action": dict(workflow.ACTIONS),
    "peril": {code: str(spec["zh"]) for code, spec in PERILS.items()},
    "department": {code: spec.label for code, spec in SPECS.items()},
    "role": dict(ROLES),
    "notice_state": NOTICE_STATES,
    "application_state": APPLICATION_STATE_NAMES,
    "channel": APPLICATION_CHANNEL_NAMES,
    "job_state": _chinese(JOB_STATES),
    "recovery_state": dict(RECOVERY_STATES),
    "batch_state": dict(BATCH_STATES),
    "line_state": dict(LINE_STATES),
    "watch_state": dict(WATCH_STATES),
    "watch_action": dict(WATCH_ACTIONS),
    "payer": dict(PAYERS),
}


def label(kind: str, code: str | None) -> str:
    """The Chinese label of ``code`` among ``kind`` (a key of :data:`LABELS`), the code where none is known;
    ``""`` for no code.

    >>> label("state", "awaiting_approval"), label("peril", "illness"), label("state", "new_state")
    ('待复核', '因病', 'new_state')
    """
    if code is None or code == "":
        return ""
    return LABELS[kind].get(str(code), str(code))


__all__ = ["APPLICATION_CHANNEL_NAMES", "APPLICATION_STATE_NAMES", "LABELS", "NOTICE_STATES", "label"]
