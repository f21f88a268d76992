"""Alembic migrations, shipped inside the distribution so that ``kyso serve`` can apply them."""
