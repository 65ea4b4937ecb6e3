"""Alembic environment: runs on the connection the service hands over (assay.service._db.migrate)."""

from alembic import context

from assay.service._db import METADATA

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=METADATA, render_as_batch=connection.dialect.name == "sqlite")
context.run_migrations()
