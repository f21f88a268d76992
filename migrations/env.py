"""Alembic environment: migrations run on the connection the service hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import billing.models
import certs.models
import identity.models
import signing.models

target_metadata = SQLModel.metadata
_registered = (certs.models, identity.models, signing.models, billing.models)


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("kyso migrations run through api.database.migrate()")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
