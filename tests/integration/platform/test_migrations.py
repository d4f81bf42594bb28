"""The migrations build exactly the models' schema, on SQLite and PostgreSQL.

Fails when a model changes without `bash migrations/regenerate-initial.sh`.
"""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, MetaData, String, inspect

from scheduler import create_app
from scheduler.foundation.config import for_tests
from scheduler.foundation.extensions import db
from tests.conftest import _fresh_postgres_database, _postgres_admin_url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return _fresh_postgres_database(_postgres_admin_url(), f"scheduler_migrations_{os.getpid()}")


def test_upgrade_from_empty_matches_the_models(empty_database_url):
    app = create_app(for_tests(empty_database_url))
    with app.app_context():
        directory = app.extensions["migrate"].directory
        assert inspect(db.engine).get_table_names() == []
        upgrade(directory=directory)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, db.metadata)
        assert differences == [], (
            "the migrations do not build the models' schema; run "
            "`bash migrations/regenerate-initial.sh`:\n" + "\n".join(map(str, differences))
        )
        assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())
        # And the comparison does notice a model change the migration lacks.
        changed = MetaData()
        for table in db.metadata.tables.values():
            table.to_metadata(changed)
        changed.tables["cohorts"].append_column(Column("room", String(50)))
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert any(d[0] == "add_column" and d[3].name == "room" for d in compare_metadata(context, changed))
        downgrade(directory=directory, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()
