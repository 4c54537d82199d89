"""The ``backup`` and ``restore`` commands (registered by ``auction_platform.cli``).

Without ``DATABASE_URL`` (the embedded mode) they work on the whole platform: every
service's SQLite file in one archive with a manifest (``ops.platform_backup``).
Otherwise, or with ``--service`` / ``--database-url``, on one database
(``ops.backup``: ``pg_dump``, or a SQLite copy).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from auction_platform.ops.console import console, fail, load_settings, say


def backup(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The archive to write.")
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(help="Write <database>-<UTC time>.dump (or platform-<time>.tar.gz) here."),
    ] = None,
    keep: Annotated[
        int, typer.Option(min=0, help="With --output-dir: keep the newest N (0 keeps all).")
    ] = 0,
    database_url: Annotated[
        str | None, typer.Option(help="The database (default: DATABASE_URL).")
    ] = None,
    service: Annotated[
        str | None, typer.Option(help="The database of this service (<SERVICE>_DATABASE_URL).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="The embedded platform's folder (default: DATA_DIR)."),
    ] = None,
) -> None:
    """Back up the database (pg_dump custom format), or the whole embedded platform, verified.

    Without DATABASE_URL (the embedded mode) every service's SQLite file goes into one
    archive with a manifest; --service or --database-url backs up one database.
    """
    from auction_platform.ops import backup as ops
    from auction_platform.ops import platform_backup

    if (output is None) == (output_dir is None):
        fail("give exactly one of --output FILE or --output-dir DIR", code=2)
    settings = load_settings()
    one_database = database_url is not None or service is not None
    if data_dir is not None and one_database:
        fail("--data-dir backs up the whole embedded platform: drop --database-url/--service")
    try:
        with ops.progress_bar(console()) as progress:
            if one_database or (settings.database_url and data_dir is None):
                db = ops.resolve_database(
                    settings, url=database_url, service=service, environ=os.environ
                )
                path = output or (output_dir or Path()) / ops.archive_name(db)
                archive = ops.backup(db, path, progress=progress)
                what = f"{archive.tables} tables"
                pruned = ops.prune(path.parent, db, keep=keep) if output_dir and keep else []
            else:
                path = output or (output_dir or Path()) / platform_backup.archive_name()
                folder = data_dir or settings.data_dir
                whole = platform_backup.backup_platform(folder, path, progress=progress)
                archive = ops.Archive(whole.path, whole.size, len(whole.manifest.databases))
                what = ", ".join(entry.service for entry in whole.manifest.databases)
                pruned = (
                    platform_backup.prune(path.parent, keep=keep) if output_dir and keep else []
                )
    except ops.BackupError as error:
        fail(f"backup failed: {error}")
    say(f"[green]backup written[/]: {archive.path} ({archive.size:,} bytes, {what}, verified)")
    for old in pruned:
        say(f"removed old backup {old}")


def restore(
    archive: Annotated[Path, typer.Argument(help="A file written by `auction-platform backup`.")],
    database_url: Annotated[
        str | None, typer.Option(help="The target database (default: DATABASE_URL).")
    ] = None,
    service: Annotated[
        str | None, typer.Option(help="The database of this service (<SERVICE>_DATABASE_URL).")
    ] = None,
    maintenance_db: Annotated[
        str, typer.Option(help="Where to connect to create a missing target database.")
    ] = "postgres",
    data_dir: Annotated[
        Path | None,
        typer.Option(help="A platform archive goes into this folder (default: DATA_DIR)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace the platform's files in a folder that has some."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before replacing.")] = False,
) -> None:
    """Restore a backup: a whole embedded platform into its folder, or one database.

    A platform archive is checked against its manifest before anything changes, and
    is refused while a platform runs on the folder. A database's tables are replaced
    (the database is created if missing).
    """
    from auction_platform.ops import backup as ops
    from auction_platform.ops import platform_backup

    settings = load_settings()
    try:
        if archive.is_file() and platform_backup.is_platform_archive(archive):
            if database_url is not None or service is not None:
                fail("a platform archive restores a whole folder: use --data-dir, not a database")
            folder = data_dir or settings.data_dir
            if force and not yes:
                typer.confirm(
                    f"Replace the platform's files in {folder} with {archive}?", abort=True
                )
            with ops.progress_bar(console()) as progress:
                manifest = platform_backup.restore_platform(
                    archive, folder, force=force, progress=progress
                )
            services = ", ".join(entry.service for entry in manifest.databases)
            say(
                f"[green]restored[/] {services} into {folder} "
                f"(backed up {manifest.created_at} by version {manifest.platform_version})"
            )
            return
        db = ops.resolve_database(settings, url=database_url, service=service, environ=os.environ)
        if not yes:
            typer.confirm(f"Replace the tables of {db.name} with {archive}?", abort=True)
        with ops.progress_bar(console()) as progress:
            tables = ops.restore(archive, db, maintenance_db=maintenance_db, progress=progress)
    except ops.BackupError as error:
        fail(f"restore failed: {error}")
    say(f"[green]restored[/] {tables} tables into {db.name}")
