"""Back up and restore the platform's database.

PostgreSQL goes through ``pg_dump``/``pg_restore`` in the custom format (``-Fc``): one
compressed archive per database, which ``pg_restore --list`` can read back, so every
backup is verified before it counts. SQLite files (the embedded mode) go through the
sqlite3 online backup API, which copies a consistent snapshot while the file is in use.

The URL is the platform's own (``postgresql+asyncpg://`` or ``sqlite+aiosqlite://``);
the libpq tools get a plain ``postgresql://`` URL without the password, which travels
in ``PGPASSWORD`` so it never shows in a process list.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from auction_platform.settings import SERVICES, Settings

PG_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"
_DUMPING = re.compile(r'dumping contents of table "(?P<table>[^"]+)"')
_RESTORING = re.compile(r'processing data for table "(?P<table>[^"]+)"')


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Database:
    """Where a backup comes from or a restore goes to."""

    kind: Literal["postgresql", "sqlite"]
    name: str  # the database's name, or the SQLite file's stem
    libpq_url: str = ""  # postgresql://user@host:port/db, no password
    password: str | None = None
    path: Path | None = None  # SQLite only

    def env(self) -> dict[str, str]:
        """The environment of a libpq tool working on this database."""
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env

    def libpq_url_for(self, database: str) -> str:
        """The same server, another database (for CREATE DATABASE)."""
        return _render(make_url(self.libpq_url).set(database=database))


@dataclass(frozen=True, slots=True)
class Archive:
    """A verified backup."""

    path: Path
    size: int
    tables: int


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def parse_database(url: str) -> Database:
    """The database a platform URL names; refuses anything but PostgreSQL and SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise BackupError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise BackupError("an in-memory SQLite database has nothing to back up")
        path = Path(parsed.database)
        return Database(kind="sqlite", name=path.stem, path=path)
    if backend != "postgresql":
        raise BackupError(f"cannot back up a {backend} database; use PostgreSQL or SQLite")
    if not parsed.database:
        raise BackupError("the PostgreSQL URL names no database")
    query = dict(parsed.query)
    ssl = query.pop("ssl", None)  # asyncpg's spelling of libpq's sslmode
    if ssl is not None and "sslmode" not in query:
        query["sslmode"] = ssl
    plain = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=query,
    )
    return Database(
        kind="postgresql", name=parsed.database, libpq_url=_render(plain), password=parsed.password
    )


def resolve_database(
    settings: Settings,
    *,
    url: str | None = None,
    service: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Database:
    """The database to work on: an explicit URL, one service's, or ``DATABASE_URL``."""
    if url:
        return parse_database(url)
    if service:
        if service not in SERVICES:
            raise BackupError(f"unknown service {service!r}; choose one of: {', '.join(SERVICES)}")
        return parse_database(settings.database_url_for(service, overrides=dict(environ or {})))
    if not settings.database_url:
        raise BackupError(
            "DATABASE_URL is not set: the embedded mode keeps one SQLite file per service "
            "in DATA_DIR. Name one with --service, or pass --database-url."
        )
    return parse_database(settings.database_url)


def archive_name(db: Database, *, now: datetime | None = None) -> str:
    """``<database>-<UTC time>.dump`` (``.sqlite3`` for SQLite); names sort by age."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{db.name}-{stamp}.{'dump' if db.kind == 'postgresql' else 'sqlite3'}"


def prune(directory: Path, db: Database, *, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` archives of ``db`` in ``directory``."""
    suffix = "dump" if db.kind == "postgresql" else "sqlite3"
    pattern = re.compile(rf"{re.escape(db.name)}-\d{{8}}T\d{{6}}Z\.{suffix}")
    archives = sorted(p for p in directory.iterdir() if pattern.fullmatch(p.name))
    doomed = archives[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink()
    return doomed


def backup(db: Database, output: Path, *, progress: Progress | None = None) -> Archive:
    """Write a verified backup of ``db`` to ``output`` (written aside, then renamed)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    try:
        with task(progress, f"Backing up {db.name}") as step:
            if db.kind == "postgresql":
                _pg_dump(db, partial, step)
                tables = len(list_archive(partial, kind="TABLE DATA"))
            else:
                tables = _sqlite_backup(db, partial, step)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return Archive(output, output.stat().st_size, tables)


def restore(
    archive: Path,
    db: Database,
    *,
    maintenance_db: str = "postgres",
    progress: Progress | None = None,
) -> int:
    """Restore ``archive`` into ``db``, creating it if missing; the number of tables."""
    if not archive.is_file():
        raise BackupError(f"no backup at {archive}")
    with archive.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if db.kind == "postgresql" and not head.startswith(PG_MAGIC):
        raise BackupError(
            f"{archive} is not a pg_dump custom-format archive (made with -Fc). "
            "A plain SQL dump is restored with psql, not pg_restore."
        )
    if db.kind == "sqlite" and head != SQLITE_MAGIC:
        raise BackupError(f"{archive} is not a SQLite database file")
    with task(progress, f"Restoring {db.name}") as step:
        if db.kind == "postgresql":
            _create_database(db, maintenance_db)
            return _pg_restore(archive, db, step)
        return _sqlite_restore(archive, db, step)


def list_archive(archive: Path, *, kind: str | None = None) -> list[str]:
    """The table of contents of a custom-format archive (``pg_restore --list``)."""
    result = _run(["pg_restore", "--list", str(archive)])
    entries = [line for line in result.splitlines() if line and not line.startswith(";")]
    if kind is not None:
        entries = [line for line in entries if f" {kind} " in line]
    if not entries:
        raise BackupError(f"{archive} lists no entries: it is not a usable backup")
    return entries


# -- progress ---------------------------------------------------------------------------


def progress_bar(console: Console) -> Progress:
    """The progress display of ``backup`` and ``restore``: one bar per database."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"),
        console=console,
    )


class _Step:
    """Advances one progress bar, or does nothing without one."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task

    def total(self, total: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=max(total, 1))

    def advance(self, what: str, by: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=by, detail=what)

    def set(self, completed: int, total: int, what: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=completed, total=total, detail=what)

    def complete(self) -> None:
        if self._progress is not None and self._task is not None:
            task = self._progress.tasks[self._task]
            self._progress.update(self._task, completed=task.total or 1, detail="done")


@contextmanager
def task(progress: Progress | None, description: str) -> Iterator[_Step]:
    """A progress bar for one step of work (nothing without a display)."""
    task_id = progress.add_task(description, total=None, detail="") if progress else None
    step = _Step(progress, task_id)
    yield step
    step.complete()


# -- PostgreSQL -------------------------------------------------------------------------


def _run(args: list[str], *, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    try:
        result = subprocess.run(  # noqa: S603 - fixed tools, arguments are not shell-parsed
            args, env=env, input=stdin, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise BackupError(
            f"{args[0]} is not installed: install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client)"
        ) from exc
    if result.returncode != 0:
        raise BackupError(f"{args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def _stream(args: list[str], *, env: dict[str, str], pattern: re.Pattern[str], step: _Step) -> None:
    """Run a verbose libpq tool, advancing the progress bar on each table it reports."""
    try:
        process = subprocess.Popen(  # noqa: S603 - fixed tools, arguments are not shell-parsed
            args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
    except FileNotFoundError as exc:
        raise BackupError(
            f"{args[0]} is not installed: install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client)"
        ) from exc
    assert process.stderr is not None
    problems: list[str] = []
    for line in process.stderr:
        if match := pattern.search(line):
            step.advance(match["table"])
        elif "error" in line.lower() or "fatal" in line.lower():
            problems.append(line.strip())
    if process.wait() != 0:
        detail = "; ".join(problems[-5:]) or "see its output above"
        raise BackupError(f"{args[0]} failed: {detail}")


def _count_tables(db: Database) -> int:
    sql = (
        "SELECT count(*) FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    )
    out = _run(["psql", "--no-psqlrc", "-tA", "-d", db.libpq_url, "-c", sql], env=db.env())
    return int(out.strip() or 0)


def _pg_dump(db: Database, output: Path, step: _Step) -> None:
    step.total(_count_tables(db))
    args = ["pg_dump", "--format=custom", "--verbose", "--no-password"]
    args += [f"--file={output}", f"--dbname={db.libpq_url}"]
    _stream(args, env=db.env(), pattern=_DUMPING, step=step)


def _create_database(db: Database, maintenance_db: str) -> None:
    """CREATE DATABASE when it does not exist yet (psql quotes the name itself)."""
    script = (
        "SELECT format('CREATE DATABASE %I', :'name') "
        "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')\\gexec\n"
    )
    args = ["psql", "--no-psqlrc", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"name={db.name}"]
    args += ["-d", db.libpq_url_for(maintenance_db)]
    _run(args, env=db.env(), stdin=script)


def _pg_restore(archive: Path, db: Database, step: _Step) -> int:
    tables = len(list_archive(archive, kind="TABLE DATA"))
    step.total(tables)
    # One transaction: a restore that fails halfway leaves the database as it was.
    # No owners or grants from the source: the restoring role owns what it creates.
    args = ["pg_restore", "--verbose", "--no-password", "--single-transaction"]
    args += ["--clean", "--if-exists", "--no-owner", "--no-acl"]
    args += [f"--dbname={db.libpq_url}", str(archive)]
    _stream(args, env=db.env(), pattern=_RESTORING, step=step)
    return tables


# -- SQLite -----------------------------------------------------------------------------


def _sqlite_copy(source: sqlite3.Connection, target: sqlite3.Connection, step: _Step) -> None:
    def report(_status: int, remaining: int, total: int) -> None:
        step.set(total - remaining, total, f"{total - remaining}/{total} pages")

    source.backup(target, pages=256, progress=report)


def _sqlite_tables(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchone()
    return int(row[0])


def _sqlite_backup(db: Database, output: Path, step: _Step) -> int:
    assert db.path is not None
    if not db.path.is_file():
        raise BackupError(f"no SQLite database at {db.path}")
    source = sqlite3.connect(f"file:{db.path}?mode=ro", uri=True)
    target = sqlite3.connect(output)
    try:
        _sqlite_copy(source, target, step)
        if target.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise BackupError(f"the copy of {db.path} failed its integrity check")
        return _sqlite_tables(target)
    finally:
        source.close()
        target.close()


def _sqlite_restore(archive: Path, db: Database, step: _Step) -> int:
    assert db.path is not None
    db.path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
    target = sqlite3.connect(db.path)
    try:
        _sqlite_copy(source, target, step)
        return _sqlite_tables(target)
    finally:
        source.close()
        target.close()
