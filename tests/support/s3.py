"""A local S3-compatible server for the photo store's tests (moto's, in a thread)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from moto.server import ThreadedMotoServer

from support.http_server import free_port


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """An S3 API at ``http://127.0.0.1:<port>``, stopped afterwards."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_settings(endpoint: str, bucket: str) -> dict[str, Any]:
    """The settings that keep photos in ``bucket`` on the server at ``endpoint``."""
    return {
        "photo_store": "s3",
        "s3_endpoint_url": endpoint,
        "s3_bucket": bucket,
        "s3_access_key_id": "testing",
        "s3_secret_access_key": "testing",
    }
