"""users scoped to counties (issue 13, item 5)

``user_counties``: the counties (6-digit codes, as ``policies.county``) each user serves.  Users that
exist when the revision runs keep what they saw: each is linked to every county that has a policy.
The role ``city_viewer`` (市级查看: several counties, read-only) joins the users' role check.  Downgrading
deactivates city viewers and makes them actuaries (the old check has no such role).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ROLES_BEFORE = ("role IN ('insurer_adjudicator', 'insurer_supervisor', 'county_reviewer', 'township_reviewer', "
                "'village_clerk', 'actuary', 'admin', 'system')")
ROLES_AFTER = ("role IN ('insurer_adjudicator', 'insurer_supervisor', 'county_reviewer', 'township_reviewer', "
               "'village_clerk', 'actuary', 'admin', 'system', 'city_viewer')")


def upgrade() -> None:
    op.create_table(
        "user_counties",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_counties_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "county", name=op.f("pk_user_counties")),
    )
    op.execute("INSERT INTO user_counties (user_id, county) "
               "SELECT u.id, c.county FROM users u CROSS JOIN (SELECT DISTINCT county FROM policies) c")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint("role", sa.text(ROLES_AFTER))


def downgrade() -> None:
    op.execute("UPDATE users SET role = 'actuary', active = false WHERE role = 'city_viewer'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint("role", sa.text(ROLES_BEFORE))
    op.drop_table("user_counties")
