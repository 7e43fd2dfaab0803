"""no index rows for _id and _lastUpdated

Search answers both from the resource table's own columns; the rows written for them were never read
(see ``osler.fhir.indexing.RESOURCE_TABLE_PARAMS``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 19:45:00
"""

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM idx_token WHERE param = '_id'")
    op.execute("DELETE FROM idx_date WHERE param = '_lastUpdated'")


def downgrade() -> None:
    # Nothing to put back: the code of revision 0002 searched these two parameters on the resource table too.
    pass
