"""The claim workflow: one explicit transition table (state, action, role group → next state).

The service (:mod:`claims.lifecycle.transitions`) refuses anything not in this table, and the database refuses
any change of ``claims.state`` whose (from, to) pair is not in :data:`ALLOWED_PAIRS` (a trigger reads
the ``allowed_transitions`` table, filled from here by the migration).

    computed ─start_investigation→ investigating ─verify→ verified (or awaiting_approval above the
    user's approval limit ─approve→ verified, maker-checker) ─village_review→ village_reviewed
    ─township_review→ township_reviewed ─file→ filed ─post_notice→ on_notice ─notice_ended→ payable
    ─add_to_batch→ in_payout ─bank_paid→ paid.  A product without a notice (``notice_required: false``):
    filed ─release_without_notice→ payable (system, :func:`claims.lifecycle.notices.close_due`).
    on_notice ─object→ disputed ─reinvestigate→ investigating.  in_payout ─bank_failed→ payable.
    Any pre-payment state ─reject→ rejected.
    paid ─reverse→ reversed (a correction after payment is a reversal plus a new claim).
"""

from __future__ import annotations

from tabular.errors import NotAllowedError

#: States in lifecycle order, with their Chinese label.
STATES: dict[str, str] = {
    "computed": "已计算",
    "investigating": "调查中",
    "awaiting_approval": "待复核",
    "verified": "已核定",
    "village_reviewed": "村已审核",
    "township_reviewed": "乡镇已审核",
    "filed": "县已备案",
    "on_notice": "公示中",
    "disputed": "有异议",
    "payable": "可支付",
    "in_payout": "支付中",
    "paid": "已支付",
    "rejected": "已拒赔",
    "reversed": "已冲正",
}

#: Role groups the table speaks of, and the user roles in each.
ROLE_GROUPS: dict[str, frozenset[str]] = {
    "insurer": frozenset({"insurer_adjudicator", "insurer_supervisor"}),
    "insurer_supervisor": frozenset({"insurer_supervisor"}),
    "village": frozenset({"village_clerk"}),
    "township": frozenset({"township_reviewer"}),
    "county": frozenset({"county_reviewer"}),
    "county_or_village": frozenset({"county_reviewer", "village_clerk"}),
    "insurer_or_county": frozenset({"insurer_adjudicator", "insurer_supervisor", "county_reviewer"}),
    "system": frozenset({"system"}),
}

PRE_PAYMENT = ("computed", "investigating", "awaiting_approval", "verified", "village_reviewed",
               "township_reviewed", "filed", "on_notice", "disputed", "payable")

#: (state, action, role group) → next state.  The only place the workflow is defined.
TRANSITIONS: dict[tuple[str, str, str], str] = {
    ("computed", "start_investigation", "insurer"): "investigating",
    ("computed", "withdraw", "system"): "rejected",  # a recomputation found nothing due any more
    ("investigating", "verify", "insurer"): "verified",
    ("investigating", "verify_above_limit", "insurer"): "awaiting_approval",
    ("awaiting_approval", "approve", "insurer"): "verified",
    ("awaiting_approval", "return", "insurer"): "investigating",
    ("verified", "village_review", "village"): "village_reviewed",
    ("village_reviewed", "township_review", "township"): "township_reviewed",
    ("township_reviewed", "file", "county"): "filed",
    ("filed", "post_notice", "county_or_village"): "on_notice",
    ("on_notice", "notice_ended", "system"): "payable",
    # a product without 公示 (its document says ``notice_required: false``): filed → payable, no notice posted
    ("filed", "release_without_notice", "system"): "payable",
    ("on_notice", "object", "village"): "disputed",
    ("disputed", "reinvestigate", "insurer"): "investigating",
    ("payable", "add_to_batch", "insurer"): "in_payout",
    ("in_payout", "bank_paid", "insurer"): "paid",
    ("in_payout", "bank_failed", "insurer"): "payable",
    ("paid", "reverse", "insurer_supervisor"): "reversed",
    **{(state, "reject", "insurer_or_county"): "rejected" for state in PRE_PAYMENT},
}

#: Every (from, to) pair the database accepts for claims.state.
ALLOWED_PAIRS: frozenset[tuple[str, str]] = frozenset((s, t) for (s, _, _), t in TRANSITIONS.items())

#: States whose amount counts as decided for the next computation (see claims.lifecycle.recompute): everything
#: past ``computed`` except a reversed claim, whose payment was taken back.
COMMITTED = tuple(s for s in STATES if s not in ("computed", "reversed"))

#: Chinese labels of actions, for events and pages.
ACTIONS: dict[str, str] = {
    "start_investigation": "开始调查", "verify": "核定", "verify_above_limit": "核定（超权限，待复核）",
    "approve": "复核通过", "return": "退回调查", "village_review": "村审核", "township_review": "乡镇审核",
    "file": "县备案", "post_notice": "张贴公示", "notice_ended": "公示期满",
    "release_without_notice": "无需公示，转为可支付", "object": "登记异议",
    "reinvestigate": "重新调查", "add_to_batch": "加入支付批次", "bank_paid": "银行支付成功",
    "bank_failed": "银行支付失败", "reverse": "冲正", "reject": "拒赔", "withdraw": "撤回（已无应付）", "compute": "计算",
    "recompute": "重新计算",
}


class TransitionError(NotAllowedError):
    """A transition the table does not allow (wrong state or wrong role), with a bilingual message."""


def next_state(state: str, action: str, role: str) -> str:
    """The state after ``action`` by a user of ``role`` from ``state``; raises TransitionError."""
    candidates = [(group, to) for (s, a, group), to in TRANSITIONS.items() if s == state and a == action]
    if not candidates:
        allowed = sorted({a for (s, a, _) in TRANSITIONS if s == state})
        raise TransitionError(
            f"状态“{STATES.get(state, state)}”下不能执行“{ACTIONS.get(action, action)}” / action {action!r} is not "
            f"allowed in state {state!r} (allowed: {', '.join(allowed) or 'none'})")
    for group, to in candidates:
        if role in ROLE_GROUPS[group]:
            return to
    groups = sorted({r for group, _ in candidates for r in ROLE_GROUPS[group]})
    raise TransitionError(
        f"角色 {role} 无权执行“{ACTIONS.get(action, action)}” / role {role!r} may not {action!r} "
        f"(roles that may: {', '.join(groups)})")
