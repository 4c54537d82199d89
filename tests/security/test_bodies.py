"""Oversized and malformed input: a 4xx in the error shape, never a 500, never a trace.

Through the gateway, on every operation of the public API the document names:

- a body over ``MAX_BODY_BYTES`` (a photo upload: ``PHOTO_MAX_BYTES`` and its envelope)
  is 413 ``body_too_large``, with its length declared or sent in chunks without one,
  on every operation that takes a body or might;
- a body that is not JSON (a syntax error, nesting deeper than a parser goes, a
  number of thousands of digits, bytes that are not UTF-8) is 400 ``malformed_json``;
- JSON of the wrong shape, a wrong content type, a NUL character, and, field by field
  in an otherwise valid request (``security.writes``), numbers beyond 64 bits, huge
  strings and huge arrays are refused with a 4xx;
- a number beyond 64 bits in any integer query parameter is refused with a 4xx.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from auction_platform.composition import Platform
from auction_platform.contracts.routes import UPLOADS
from security.operations import Operation, public_operations
from security.world import SERVICES, Json, World, probe_settings, refused
from security.writes import WRITES, Unprobed, Write
from support.platforms import running

LIMIT = 256 * 1024
# A photo upload may be larger: PHOTO_MAX_BYTES (set to LIMIT here) and its envelope.
UPLOAD_LIMIT = LIMIT + 64 * 1024
INT64 = 2**63
# Not JSON, each for its own reason: 400 malformed_json.
NOT_JSON = {
    "cut short": b'{"title": ',
    "text after the document": b"{} and more",
    "single quotes": b"{'title': 'x'}",
    "a bare word": b"hello",
    "arrays nested 50,000 deep": b"[" * 50_000 + b"]" * 50_000,
    "objects nested 20,000 deep": b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    "a number of 5,000 digits": b'{"a": 1' + b"0" * 5_000 + b"}",
    "bytes that are not UTF-8": b'{"title": "\xff\xfe"}',
}
# JSON, but never a request body: a 4xx.
WRONG_SHAPES = {
    "an array": b"[1, 2, 3]",
    "a string": b'"hello"',
    "a number": b"42",
    "true": b"true",
    "NaN": b'{"a": NaN}',
    "a lone surrogate": b'{"title": "\\ud800"}',
    "a NUL in a key": b'{"\\u0000": 1}',
    "a NUL in a value": b'{"title": "a\\u0000b"}',
    "ten thousand keys": json.dumps({f"k{i}": i for i in range(10_000)}).encode(),
}
CONTENT_TYPES = (
    "text/plain",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
)
BEYOND_INT64 = (INT64, -INT64 - 1, 10**30, float("nan"), float("inf"))


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    """The probes' platform, with a smaller body limit (the probes stay under it)."""
    settings = probe_settings(tmp_path, max_body_bytes=LIMIT, photo_max_bytes=LIMIT)
    async with running(settings, SERVICES, embedded=True) as started:
        yield started


def is_refusal(
    response: httpx.Response,
    what: str,
    failures: list[str],
    *,
    statuses: Collection[int] = range(400, 500),
    code: str | None = None,
) -> None:
    """Note in ``failures`` how ``response`` is not the refusal it should be."""
    try:
        refused(response, statuses, code=code)
    except AssertionError as failure:
        failures.append(f"{what}: {failure}")


async def send(
    world: World, operation: Operation, write: Write, content: bytes, kind: str = "application/json"
) -> httpx.Response:
    headers = {**write.headers, "Content-Type": kind}
    target = operation.target(**write.ids)
    return await world.http.request(operation.method, target, content=content, headers=headers)


async def ready(world: World) -> list[tuple[Operation, Write]]:
    """Every operation that takes a JSON body, with a valid request of it made ready."""
    found = []
    for operation in await public_operations(world.http):
        prepare = WRITES.get(operation.key)
        if operation.body is not None and prepare is not None:
            assert not isinstance(prepare, Unprobed) or "webhooks" in operation.path, prepare
            if not isinstance(prepare, Unprobed):
                found.append((operation, await prepare(world)))
    return found


async def test_a_body_over_the_limit_is_413_with_or_without_its_length(world: World) -> None:
    failures: list[str] = []

    def chunks(oversized: bytes) -> AsyncIterator[bytes]:
        async def each() -> AsyncIterator[bytes]:
            for start in range(0, len(oversized), 64 * 1024):
                yield oversized[start : start + 64 * 1024]

        return each()

    for operation in await public_operations(world.http):
        if operation.method == "GET":
            continue
        target = operation.target(**dict.fromkeys(operation.path_params, "abc"))
        limit = UPLOAD_LIMIT if UPLOADS.match(target) else LIMIT
        oversized = b"x" * (limit + 1)
        for how, content in (("declared", oversized), ("chunked", chunks(oversized))):
            response = await world.http.request(
                operation.method, target, content=content, headers=world.owner.headers
            )
            what = f"{operation.key}, {how}"
            is_refusal(response, what, failures, statuses={413}, code="body_too_large")
    assert not failures, "\n".join(failures)


async def test_a_body_that_is_not_json_is_400_malformed_json(world: World) -> None:
    failures: list[str] = []
    for operation, write in await ready(world):
        for name, content in NOT_JSON.items():
            response = await send(world, operation, write, content)
            is_refusal(
                response,
                f"{operation.key}, {name}",
                failures,
                statuses={400},
                code="malformed_json",
            )
    assert not failures, "\n".join(failures)


async def test_json_of_the_wrong_shape_or_type_is_refused(world: World) -> None:
    failures: list[str] = []
    for operation, write in await ready(world):
        for name, content in WRONG_SHAPES.items():
            response = await send(world, operation, write, content)
            is_refusal(response, f"{operation.key}, {name}", failures)
        valid = json.dumps(write.body or {}).encode()
        for kind in CONTENT_TYPES:
            response = await send(world, operation, write, valid, kind)
            is_refusal(response, f"{operation.key}, sent as {kind}", failures)
    assert not failures, "\n".join(failures)


def leaves(schema: Json, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """The paths of a body's fields (through nested objects) and their JSON types."""
    for variant in schema.get("anyOf", [schema]):
        kind = variant.get("type")
        if kind == "object" or "properties" in variant:
            for name, field in variant.get("properties", {}).items():
                yield from leaves(field, (*path, name))
        elif kind in ("integer", "string", "array") and path:
            yield path, kind


def with_field(body: Json | None, path: tuple[str, ...], value: Any) -> bytes:
    """``body`` with the field at ``path`` set to ``value`` (NaN and infinity as JSON5 does)."""
    changed = copy.deepcopy(body or {})
    place = changed
    for name in path[:-1]:
        if not isinstance(place.get(name), dict):
            place[name] = {}
        place = place[name]
    place[path[-1]] = value
    return json.dumps(changed).encode()


HOSTILE: dict[str, tuple[Any, ...]] = {
    "integer": BEYOND_INT64,
    "string": ("a" * (LIMIT // 2), "a\u0000b"),
    "array": ([7] * (LIMIT // 4), ["a" * 1_000] * 200),
}


async def test_numbers_beyond_64_bits_huge_strings_and_arrays_in_any_field_are_refused(
    world: World,
) -> None:
    failures: list[str] = []
    for operation, write in await ready(world):
        assert operation.body is not None
        for path, kind in leaves(operation.body):
            for value in HOSTILE[kind]:
                response = await send(world, operation, write, with_field(write.body, path, value))
                what = f"{operation.key}, {'.'.join(path)} = {str(value)[:20]}"
                if response.is_success:
                    failures.append(f"{what}: taken ({response.status_code})")
                    continue
                is_refusal(response, what, failures)
    assert not failures, "\n".join(failures)


async def test_numbers_beyond_64_bits_in_any_query_parameter_are_refused(world: World) -> None:
    document = (await world.http.get("/api/openapi.json")).json()
    admin = await world.admin()
    lot = await world.open_lot()
    failures: list[str] = []
    for path, item in document["paths"].items():
        operation = item.get("get")
        if operation is None or path.startswith("/ws/"):
            continue
        target = path.format_map(defaultdict(lambda: lot["id"]))
        for parameter in operation.get("parameters", ()):
            schema = parameter.get("schema", {})
            kinds = {v.get("type") for v in schema.get("anyOf", [schema])}
            if parameter["in"] != "query" or "integer" not in kinds:
                continue
            for value in (str(INT64), str(-INT64 - 1), "1" + "0" * 5_000, "NaN", "1e999"):
                params = {parameter["name"]: value}
                response = await world.http.get(target, params=params, headers=admin)
                what = f"GET {path}?{parameter['name']}={value[:20]}"
                is_refusal(response, what, failures, statuses={400, 422})
    assert not failures, "\n".join(failures)
