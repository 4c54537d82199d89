"""Where uploaded files live: a directory (embedded) or an S3-compatible bucket.

One small interface, ``ObjectStore``: put bytes under a key with their content type,
get them back, delete them. Keys are made by the platform (``photos/<id>/display.webp``),
never by users, and the directory store refuses any key that would leave its root.

``S3Store`` runs boto3 (the AWS SDK, blocking) in worker threads; it works against
AWS and anything that speaks its API (MinIO, Ceph, a test server). A store that
cannot be reached raises ``ObjectStoreUnavailable``, an outage (503), never a 500.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from auction_platform.core.failures import Unavailable

_KEY = re.compile(r"[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*")


class ObjectStoreUnavailable(Unavailable):
    """The store could not be reached or refused to work; the same call may succeed later."""

    def __init__(self, message: str) -> None:
        super().__init__("object_store_unavailable", message, retry_after=5)


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object's bytes and content type."""

    body: bytes
    content_type: str


class ObjectStore(Protocol):
    """Bytes by key."""

    name: str

    async def put(self, key: str, body: bytes, *, content_type: str) -> None: ...

    async def get(self, key: str) -> StoredObject | None: ...

    async def delete(self, key: str) -> None: ...

    async def check(self) -> dict[str, Any]: ...


def check_key(key: str) -> str:
    """A key the platform made: lower-case segments of letters, digits, ``. _ -``."""
    if not _KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"not an object key: {key!r}")
    return key


class DirectoryStore:
    """Objects as files under ``root``: ``<key>`` and ``<key>.type`` (its content type)."""

    name = "directory"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, body: bytes, *, content_type: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(_write_both, path, body, content_type.encode())

    async def get(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            body, kind = await asyncio.to_thread(_read_both, path)
        except FileNotFoundError:
            return None
        return StoredObject(body, kind.decode())

    async def delete(self, key: str) -> None:
        path = self._path(key)
        for file in (path, path.with_name(path.name + ".type")):
            file.unlink(missing_ok=True)

    async def check(self) -> dict[str, Any]:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise OSError(f"{self.root} is not writable")
        return {"store": "directory"}


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as temporary:
        temporary.write(data)
    os.replace(temporary.name, path)


def _write_both(path: Path, body: bytes, kind: bytes) -> None:
    # The type first: a body is only ever found with its type beside it.
    _write_atomically(path.with_name(path.name + ".type"), kind)
    _write_atomically(path, body)


def _read_both(path: Path) -> tuple[bytes, bytes]:
    return path.read_bytes(), path.with_name(path.name + ".type").read_bytes()


class S3Store:
    """Objects in one bucket of an S3-compatible service (created on ``start`` if missing)."""

    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
        timeout: float = 10.0,
    ) -> None:
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]

        self.bucket = bucket
        config = Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 2, "mode": "standard"},
        )
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=config,
        )

    async def _call(self, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

        try:
            return await asyncio.to_thread(getattr(self._client, method), **kwargs)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise KeyError(kwargs.get("Key")) from error
            raise ObjectStoreUnavailable(f"S3 {method}: {code or error}") from error
        except BotoCoreError as error:
            raise ObjectStoreUnavailable(f"S3 {method}: {error}") from error

    async def start(self) -> None:
        """Create the bucket unless it exists."""
        try:
            await self._call("head_bucket", Bucket=self.bucket)
        except (KeyError, ObjectStoreUnavailable):
            await self._call("create_bucket", Bucket=self.bucket)

    async def put(self, key: str, body: bytes, *, content_type: str) -> None:
        await self._call(
            "put_object",
            Bucket=self.bucket,
            Key=check_key(key),
            Body=body,
            ContentType=content_type,
        )

    async def get(self, key: str) -> StoredObject | None:
        try:
            found = await self._call("get_object", Bucket=self.bucket, Key=check_key(key))
        except KeyError:
            return None
        body = await asyncio.to_thread(found["Body"].read)
        return StoredObject(body, str(found.get("ContentType") or "application/octet-stream"))

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Bucket=self.bucket, Key=check_key(key))

    async def check(self) -> dict[str, Any]:
        await self._call("head_bucket", Bucket=self.bucket)
        return {"store": "s3", "bucket": self.bucket}


def build_object_store(settings: Any) -> ObjectStore:
    """The store the settings choose (``PHOTO_STORE``)."""
    if settings.photo_store == "s3":
        return S3Store(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key.get_secret_value(),
            timeout=settings.http_timeout,
        )
    return DirectoryStore(settings.photo_dir or settings.data_dir / "photos")
