"""``backup`` and ``restore`` of the whole embedded platform: every service's SQLite
file in one archive with a manifest, taken while the platform runs; restored into an
empty folder, a platform started there has the data; a tampered archive, a folder in
use and a folder with files are refused, and change nothing."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from auction_platform.settings import SERVICES
from support.accounts import log_in
from support.auctions import create, seller
from support.http_server import free_port
from support.platforms import client, embedded_settings, running
from support.processes import COMMAND, child_env, run_command, started

DATABASES = {"identity", "auction", "bidding", "payment", "analytics"}


async def outcome(*args: str, env: Mapping[str, str]) -> tuple[int, str]:
    """Run the command; its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *args,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, output.decode()


def members(archive: Path) -> dict[str, bytes]:
    """Every file in an archive, by name."""
    with tarfile.open(archive, "r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


def rewrite(archive: Path, files: Mapping[str, bytes]) -> None:
    """Write an archive holding exactly ``files`` (manifest first)."""
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def databases_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.sqlite3")) if folder.exists() else []


@pytest.fixture
async def backed_up(tmp_path: Path) -> dict[str, Any]:
    """A platform with a seller and a lot, backed up while it runs."""
    source = tmp_path / "data"
    async with running(embedded_settings(source), SERVICES, embedded=True) as platform:
        async with client(platform.apps["gateway"]) as http:
            owner = await seller(http)
            lot = await create(http, owner, title="A brass ship's clock")
        out = await run_command(
            "backup", "--output-dir", str(tmp_path / "backups"), env=child_env(DATA_DIR=str(source))
        )
    assert "verified" in out
    (archive,) = (tmp_path / "backups").iterdir()
    return {"archive": archive, "email": owner.email, "lot": lot}


async def test_one_archive_holds_every_service_with_its_manifest(backed_up: dict[str, Any]) -> None:
    archive: Path = backed_up["archive"]
    assert archive.name.startswith("platform-")
    assert archive.name.endswith(".tar.gz")
    files = members(archive)
    manifest = json.loads(files.pop("manifest.json"))
    assert manifest["platform_version"]
    assert manifest["created_at"].endswith("Z")
    entries = {entry["service"]: entry for entry in manifest["databases"]}
    assert set(entries) == DATABASES
    assert set(files) == {f"{service}.sqlite3" for service in DATABASES}
    for service, entry in entries.items():
        data = files[entry["file"]]
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["alembic_revision"], service


async def test_a_restored_platform_has_the_data(backed_up: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "restored"
    out = await run_command(
        "restore", str(backed_up["archive"]), "--data-dir", str(target), env=child_env()
    )
    assert "restored" in out
    assert databases_in(target) == sorted(f"{s}.sqlite3" for s in DATABASES)
    async with (
        running(embedded_settings(target), SERVICES, embedded=True) as platform,
        client(platform.apps["gateway"]) as http,
    ):
        tokens = await log_in(http, backed_up["email"])  # identity's data
        lot = await http.get(  # auction's: the seller's draft
            f"/api/v1/auctions/{backed_up['lot']['id']}",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    assert lot.status_code == 200, lot.text
    assert lot.json()["auction"]["title"] == "A brass ship's clock"


@pytest.mark.parametrize("tampering", ["changed byte", "extra file", "missing file"])
async def test_a_tampered_archive_is_refused_and_changes_nothing(
    backed_up: dict[str, Any], tmp_path: Path, tampering: str
) -> None:
    archive: Path = backed_up["archive"]
    files = members(archive)
    if tampering == "changed byte":
        data = bytearray(files["auction.sqlite3"])
        data[-100] ^= 0xFF
        files["auction.sqlite3"] = bytes(data)
    elif tampering == "extra file":
        files["payload.sh"] = b"#!/bin/sh\n"
    else:
        del files["bidding.sqlite3"]
    rewrite(archive, files)
    target = tmp_path / "restored"
    code, out = await outcome("restore", str(archive), "--data-dir", str(target), env=child_env())
    assert code != 0
    assert "Traceback" not in out
    assert "use another backup" in out or "lacks" in out
    assert databases_in(target) == []


async def test_a_folder_with_files_is_refused_without_force(
    backed_up: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "restored"
    target.mkdir()
    (target / "auction.sqlite3").write_bytes(b"older data")
    args = ("restore", str(backed_up["archive"]), "--data-dir", str(target))
    code, out = await outcome(*args, env=child_env())
    assert code != 0
    assert "is not empty" in out
    assert "--force" in out
    assert (target / "auction.sqlite3").read_bytes() == b"older data"
    await run_command(*args, "--force", "--yes", env=child_env())
    assert databases_in(target) == sorted(f"{s}.sqlite3" for s in DATABASES)


async def test_the_folder_of_a_running_platform_is_refused_even_with_force(
    backed_up: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "live"
    async with started(
        "up", "--data-dir", str(target), port=free_port(), env=child_env(), cwd=tmp_path
    ):
        before = {p.name: p.stat().st_mtime_ns for p in target.glob("*.sqlite3")}
        args = ("restore", str(backed_up["archive"]), "--data-dir", str(target), "--force", "--yes")
        code, out = await outcome(*args, env=child_env())
        assert code != 0
        assert "a platform is running on" in out
        assert {
            p.name: p.stat().st_mtime_ns for p in target.glob("*.sqlite3")
        }.keys() == before.keys()
