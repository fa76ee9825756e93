"""full-text search index on listings (PostgreSQL)

Revision ID: 0003_listing_search
Revises: 0002_profiles
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_listing_search"
down_revision = "0002_profiles"
branch_labels = None
depends_on = None

# Must stay identical to timebank.models.listing.SEARCH_DOCUMENT (the query uses it).
SEARCH_DOCUMENT = (
    "to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, '') || ' ' || coalesce(tags, ''))"
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_listings_search", "listings", [sa.text(SEARCH_DOCUMENT)], postgresql_using="gin")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_listings_search", table_name="listings")
