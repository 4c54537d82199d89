"""Back up and restore the whole embedded platform: every service's SQLite file at once.

The archive is a gzip-compressed tar: ``manifest.json`` first, then one
``<service>.sqlite3`` per service found in the data directory. The manifest names
the platform version, the time, and for each file its service, size, SHA-256 and
Alembic revision; a restore checks every file against it before it changes anything.

Consistent while the platform runs: a read transaction is opened on every file
first, and each copy (SQLite's online backup API, in one step) reads inside it, so
each file is a transaction-consistent snapshot and all were taken at the same
moment. Services hand work to each other through outboxes and inboxes, so an event
in flight at that moment is published again after a restore and skipped by a
consumer that already handled it, as with the PostgreSQL backup.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO

from rich.progress import Progress

from auction_platform.ops import data_dir as data_dirs
from auction_platform.ops.backup import BackupError, task
from auction_platform.settings import SERVICES

MANIFEST = "manifest.json"
FORMAT = 1
GZIP_MAGIC = b"\x1f\x8b"
_ARCHIVE = re.compile(r"platform-\d{8}T\d{6}Z\.tar\.gz")
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Entry:
    """One service's database in the archive."""

    service: str
    file: str
    size: int
    sha256: str
    alembic_revision: str | None


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an archive holds and how to check it."""

    platform_version: str
    created_at: str
    databases: tuple[Entry, ...]
    format: int = FORMAT

    def to_json(self) -> bytes:
        """The manifest as written into the archive."""
        document = asdict(self)
        document["databases"] = [asdict(entry) for entry in self.databases]
        return json.dumps(document, indent=2).encode()

    @classmethod
    def from_json(cls, raw: bytes, *, archive: Path) -> Manifest:
        """Read a manifest, refusing anything that is not one this version writes."""
        try:
            document = json.loads(raw)
            if document.get("format") != FORMAT:
                raise BackupError(f"{archive} has manifest format {document.get('format')!r}")
            entries = tuple(Entry(**entry) for entry in document["databases"])
            manifest = cls(
                platform_version=str(document["platform_version"]),
                created_at=str(document["created_at"]),
                databases=entries,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"{archive} has an unreadable manifest: {exc}") from exc
        for entry in entries:
            if entry.service not in SERVICES or entry.file != f"{entry.service}.sqlite3":
                raise BackupError(f"{archive} lists an unexpected file {entry.file!r}")
        if not entries or len({e.file for e in entries}) != len(entries):
            raise BackupError(f"{archive} lists no database, or one twice")
        return manifest


@dataclass(frozen=True, slots=True)
class PlatformArchive:
    """A written, verified platform backup."""

    path: Path
    size: int
    manifest: Manifest


def archive_name(*, now: datetime | None = None) -> str:
    """``platform-<UTC time>.tar.gz``; names sort by age."""
    return f"platform-{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%SZ')}.tar.gz"


def prune(directory: Path, *, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` platform archives in ``directory``."""
    archives = sorted(p for p in directory.iterdir() if _ARCHIVE.fullmatch(p.name))
    doomed = archives[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink()
    return doomed


def is_platform_archive(path: Path) -> bool:
    """True for a file ``backup`` wrote from a whole embedded platform (gzip)."""
    with path.open("rb") as file:
        return file.read(len(GZIP_MAGIC)) == GZIP_MAGIC


def service_files(data_dir: Path) -> dict[str, Path]:
    """Each service's SQLite file in ``data_dir`` (services without a database have none)."""
    files = {name: data_dir / f"{name}.sqlite3" for name in SERVICES}
    return {name: path for name, path in files.items() if path.is_file()}


def backup_platform(
    data_dir: Path, output: Path, *, progress: Progress | None = None
) -> PlatformArchive:
    """Write every service's database in ``data_dir`` into one archive (aside, then renamed)."""
    files = service_files(data_dir)
    if not files:
        raise BackupError(
            f"no service databases (<service>.sqlite3) in {data_dir}: "
            "give the platform's folder with --data-dir (or DATA_DIR)"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    try:
        with tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as scratch:
            with task(progress, f"Backing up {data_dir}") as step:
                step.total(len(files))
                entries = []
                for name, copy in _snapshot(files, Path(scratch)):
                    entries.append(_entry(name, copy))
                    step.advance(name)
            manifest = Manifest(_platform_version(), _now(), tuple(entries))
            with tarfile.open(partial, "w:gz") as tar:
                _add_bytes(tar, MANIFEST, manifest.to_json())
                for entry in entries:
                    tar.add(Path(scratch) / entry.file, arcname=entry.file, recursive=False)
        read_manifest(partial)  # reads back what was written
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return PlatformArchive(output, output.stat().st_size, manifest)


def read_manifest(archive: Path) -> Manifest:
    """The manifest of a platform archive."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            return Manifest.from_json(member.read(), archive=archive)
    except (tarfile.TarError, OSError, KeyError, EOFError) as exc:
        raise BackupError(f"{archive} is not a platform backup ({exc})") from exc


def restore_platform(
    archive: Path, data_dir: Path, *, force: bool = False, progress: Progress | None = None
) -> Manifest:
    """Put an archive's databases into ``data_dir``, after checking each against the manifest.

    Refused while a platform runs on ``data_dir``, and, without ``force``, when the
    folder already holds anything. Nothing in ``data_dir`` changes unless every file
    checks out.
    """
    if not archive.is_file():
        raise BackupError(f"no backup at {archive}")
    manifest = read_manifest(archive)
    try:
        with data_dirs.restoring_into(data_dir):
            if not force and not data_dirs.is_empty(data_dir):
                raise BackupError(
                    f"{data_dir} is not empty: restore into an empty folder, "
                    "or pass --force to replace the platform's files there"
                )
            with tempfile.TemporaryDirectory(dir=data_dir, prefix=".restore-") as scratch:
                with task(progress, f"Restoring into {data_dir}") as step:
                    step.total(len(manifest.databases))
                    _extract_checked(archive, manifest, Path(scratch), step.advance)
                for entry in manifest.databases:
                    _replace(Path(scratch) / entry.file, data_dir / entry.file)
    except data_dirs.DataDirBusy as exc:
        raise BackupError(
            f"a platform is running on {data_dir} (auction-platform up): stop it, then restore"
        ) from exc
    return manifest


# -- backup -----------------------------------------------------------------------------


def _snapshot(files: dict[str, Path], scratch: Path) -> Iterator[tuple[str, Path]]:
    """Copy every file from one moment: all read transactions open before any copy."""
    with contextlib.ExitStack() as stack:
        sources: dict[str, sqlite3.Connection] = {}
        for name, path in files.items():
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            stack.callback(source.close)
            sources[name] = source
        for source in sources.values():
            source.execute("BEGIN")
            source.execute("SELECT count(*) FROM sqlite_master").fetchone()  # takes the snapshot
        for name, source in sources.items():
            copy = scratch / files[name].name
            target = sqlite3.connect(copy, isolation_level=None)
            try:
                source.backup(target, pages=-1)  # one step: inside the open transaction
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                if target.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                    raise BackupError(f"the copy of {files[name]} failed its integrity check")
            finally:
                target.close()
            yield name, copy


def _entry(service: str, copy: Path) -> Entry:
    return Entry(service, copy.name, copy.stat().st_size, _sha256(copy), _revision(copy, service))


def _revision(path: Path, service: str) -> str | None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute(f'SELECT version_num FROM "alembic_version_{service}"').fetchone()  # noqa: S608 - service is one of SERVICES
    except sqlite3.OperationalError:
        return None  # never migrated
    finally:
        conn.close()
    return str(row[0]) if row else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _platform_version() -> str:
    try:
        return version("auction-platform")
    except PackageNotFoundError:
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- restore ----------------------------------------------------------------------------


def _extract_checked(
    archive: Path, manifest: Manifest, scratch: Path, done: Callable[[str], object]
) -> None:
    """Extract each listed file into ``scratch``, checking size, SHA-256 and integrity."""
    expected = {entry.file: entry for entry in manifest.databases}
    seen: set[str] = set()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name == MANIFEST:
                    continue
                entry = expected.get(member.name)
                if entry is None or not member.isfile() or member.name in seen:
                    raise BackupError(
                        f"{archive} holds {member.name!r}, which its manifest does not list: "
                        "it was altered; use another backup"
                    )
                source = tar.extractfile(member)
                assert source is not None
                _copy_checked(source, scratch / entry.file, entry, archive=archive)
                seen.add(member.name)
                done(entry.service)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive} cannot be read ({exc}): use another backup") from exc
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(f"{archive} lacks {', '.join(missing)}, which its manifest lists")


def _copy_checked(source: IO[bytes], target: Path, entry: Entry, *, archive: Path) -> None:
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if size != entry.size or digest.hexdigest() != entry.sha256:
        raise BackupError(
            f"{entry.file} in {archive} does not match its manifest (size or SHA-256): "
            "the archive is damaged or was altered; use another backup"
        )
    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise BackupError(f"{entry.file} in {archive} fails SQLite's integrity check")
    finally:
        conn.close()


def _replace(restored: Path, target: Path) -> None:
    """Move a restored file into place; a stale write-ahead log would be replayed onto it."""
    for suffix in ("-wal", "-shm", "-journal"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    restored.replace(target)  # scratch is inside the data directory: a rename
