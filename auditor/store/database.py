"""Open the store: an engine for the URL, the schema brought to the newest migration, sessions on demand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, StaticPool

MIGRATIONS = Path(__file__).with_name("migrations")
DEFAULT_URL = "sqlite:///audits.db"
T = TypeVar("T")


class StoreError(RuntimeError):
    """The database cannot be opened or migrated; the message names the URL (without its password)."""


@dataclass
class Store:
    """An open database: ``session()`` gives a unit of work that commits on success and rolls back on error."""

    engine: Engine
    url: str
    _sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def write(self, work: Callable[[Session], T], *, attempts: int = 3) -> T:
        """Run ``work`` in one unit of work, and again when it lost a race on a unique key: two requests storing
        the same conversation (or a coach's verdict) at once both find no row and both insert it; the one that
        commits second is rolled back and retried, and then finds and updates the row the first one stored."""
        for attempt in range(1, attempts + 1):
            try:
                with self.session() as session:
                    return work(session)
            except IntegrityError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str = DEFAULT_URL, *, migrate: bool = True) -> Store:
    """Connect to ``url`` (``sqlite:///file.db``, ``sqlite://`` in memory, ``postgresql+psycopg://...``) and
    run the migrations up to the newest, so a new file or an older schema is ready to use."""
    shown = safe_url(url)
    try:
        engine = _engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise StoreError(f"database URL {shown}: {error}") from error
    except OSError as error:
        raise StoreError(f"database {shown}: cannot create its folder: {error.strerror}") from error
    try:
        if migrate:
            upgrade(engine)
    except OperationalError as error:
        engine.dispose()
        raise StoreError(f"database {shown}: cannot open: {error.orig}") from error
    except SQLAlchemyError as error:
        engine.dispose()
        raise StoreError(f"database {shown}: {error}") from error
    return Store(engine, shown, sessionmaker(engine, expire_on_commit=False))


def safe_url(url: str) -> str:
    """The URL as it may be printed: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"check_same_thread": False}
        if parsed.database in (None, "", ":memory:"):
            options["poolclass"] = StaticPool  # one shared connection, or each session would see an empty database
        else:
            options["poolclass"] = NullPool  # a file is cheap to open; nothing stays open between requests
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    else:
        options["pool_pre_ping"] = True
    engine = create_engine(url, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # cascades and references are enforced as on PostgreSQL
    cursor.execute("PRAGMA busy_timeout=5000")  # the CLI and the server may write the same file
    cursor.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the Alembic migrations programmatically (no alembic.ini needed)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:  # batch migrations copy and drop SQLite tables: with foreign keys on, the drop would cascade
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # (audit_steps, step_reviews) and lose rows
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def head_revision() -> str:
    """The newest revision of the store's migrations: what ``open_store`` brings a database to."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None, "the migrations have one head"
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema's Alembic revision, or None for a database the store never touched."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        if "alembic_version" not in inspect(connection).get_table_names():
            return None
        return MigrationContext.configure(connection).get_current_revision()
