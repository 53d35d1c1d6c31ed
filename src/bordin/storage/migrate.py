"""Schema migrations with Alembic, from the scripts shipped inside the package."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

from bordin.storage.engine import normalise_url

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade_database"]


def alembic_config(url: str) -> Config:
    """The Alembic configuration for ``url``, pointing at the shipped migration scripts."""
    here = resources.files("bordin.storage") / "migrations"
    config = Config(str(here / "alembic.ini"))
    config.set_main_option("script_location", str(here))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade_database(url: str | Engine, revision: str = "head") -> None:
    """Bring the database at ``url`` (or behind ``engine``) up to ``revision``."""
    if isinstance(url, Engine):
        config = alembic_config(url.url.render_as_string(hide_password=False))
        with url.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The newest revision shipped with this version of Bordin."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.sqlite"))
    head = script.get_current_head()
    return head or ""


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
