"""The photo store's contract, on a directory and on an S3-compatible server (moto's)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from auction_platform.core.objects import (
    DirectoryStore,
    ObjectStore,
    ObjectStoreUnavailable,
    S3Store,
    check_key,
)
from support.http_server import free_port
from support.s3 import s3_server


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["directory", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    if request.param == "directory":
        yield DirectoryStore(tmp_path / "photos")
        return
    s3 = S3Store(
        bucket=f"b-{uuid.uuid4().hex[:12]}",
        endpoint_url=request.getfixturevalue("s3_endpoint"),
        access_key_id="testing",
        secret_access_key="testing",
    )
    await s3.start()
    await s3.start()  # again: the bucket exists, nothing changes
    yield s3


async def test_what_is_put_is_got_back_with_its_type(store: ObjectStore) -> None:
    await store.put("photos/abc/display.webp", b"RIFF-one", content_type="image/webp")
    found = await store.get("photos/abc/display.webp")
    assert found is not None
    assert (found.body, found.content_type) == (b"RIFF-one", "image/webp")
    await store.put("photos/abc/display.webp", b"RIFF-two", content_type="image/webp")
    again = await store.get("photos/abc/display.webp")
    assert again is not None and again.body == b"RIFF-two"


async def test_a_missing_object_is_none_and_a_deleted_one_is_gone(store: ObjectStore) -> None:
    assert await store.get("photos/none/display.webp") is None
    await store.put("photos/gone/thumb.webp", b"x", content_type="image/webp")
    await store.delete("photos/gone/thumb.webp")
    assert await store.get("photos/gone/thumb.webp") is None
    await store.delete("photos/gone/thumb.webp")  # deleting twice is no error
    assert (await store.check())["store"] == store.name


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "Photos/A", "a//b", "a/../b", ""])
async def test_a_key_the_platform_would_never_make_is_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="not an object key"):
        check_key(key)
    with pytest.raises(ValueError, match="not an object key"):
        await store.put(key, b"x", content_type="text/plain")


async def test_an_s3_server_out_of_reach_is_an_outage() -> None:
    s3 = S3Store(
        bucket="photos",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        access_key_id="testing",
        secret_access_key="testing",
        timeout=2,
    )
    with pytest.raises(ObjectStoreUnavailable):
        await s3.put("photos/a/display.webp", b"x", content_type="image/webp")
    with pytest.raises(ObjectStoreUnavailable):
        await s3.check()
