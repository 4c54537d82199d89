"""The public API's document says what each route answers and the limits its rules check.

Built as the gateway builds it (each service's document, merged), from the services'
apps, none of them started.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from auction_platform.composition import Platform
from auction_platform.contracts.money import MAX_AMOUNT_CENTS
from auction_platform.contracts.routes import API_SERVICES
from auction_platform.services.auction.listing import (
    CATEGORY_PATTERN,
    DESCRIPTION_MAX,
    MAX_INCREMENT_ROWS,
    SOFT_CLOSE_MAX_EXTENSIONS,
    SOFT_CLOSE_MAX_SECONDS,
    TITLE_LENGTH,
)
from auction_platform.services.gateway.openapi import FEED_PATH, merge
from auction_platform.services.identity.domain import CHANNELS, NOTICES, Role
from support.platforms import embedded_settings

METHODS = ("get", "put", "post", "delete", "patch")
REF = "#/components/schemas/"
NDJSON = "application/x-ndjson"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = embedded_settings(Path(tmp_path_factory.mktemp("document")))
    platform = Platform(settings, API_SERVICES, embedded=True, environ={})
    return merge({name: platform.apps[name].openapi() for name in API_SERVICES})


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item and path != FEED_PATH:
                yield method, path, item[method]


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].removeprefix(REF)]
    return schema


def body_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    content = document["paths"][path][method]["requestBody"]["content"]
    return resolved(document, content["application/json"]["schema"])


def field(document: dict[str, Any], schema: dict[str, Any], name: str) -> dict[str, Any]:
    """A property's schema, the non-null one of an optional property."""
    found = resolved(document, schema["properties"][name])
    options = [option for option in found.get("anyOf", [found]) if option.get("type") != "null"]
    assert len(options) == 1, found
    return resolved(document, options[0])


def test_every_operation_documents_what_it_answers(document: dict[str, Any]) -> None:
    """Each success has a schema that names its fields, or no body at all (204)."""
    vague = []
    for method, path, operation in operations(document):
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert successes, (method, path)
        for status, response in successes.items():
            if status == "204":
                assert "content" not in response, (method, path)
                continue
            content = response["content"]
            if NDJSON in content:  # JSON lines: the schema is each line's
                content = {"application/json": content[NDJSON]}
            if "application/json" not in content:  # a photo: bytes of an image type
                assert content and all(media.startswith("image/") for media in content)
                assert all(c["schema"]["format"] == "binary" for c in content.values())
                continue
            schema = resolved(document, content["application/json"]["schema"])
            if not schema.get("properties") or schema.get("additionalProperties") is True:
                vague.append(f"{method.upper()} {path} {status}")
    assert vague == [], "answers documented as any object"


def test_every_documented_schema_is_valid_json_schema(document: dict[str, Any]) -> None:
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_a_listing_documents_the_limits_its_rules_check(document: dict[str, Any]) -> None:
    for method, path in (("post", "/api/v1/auctions"), ("patch", "/api/v1/auctions/{lot_id}")):
        lot = body_schema(document, method, path)
        title = field(document, lot, "title")
        assert (title["minLength"], title["maxLength"]) == TITLE_LENGTH == (3, 120)
        assert field(document, lot, "description")["maxLength"] == DESCRIPTION_MAX
        assert field(document, lot, "category")["pattern"] == CATEGORY_PATTERN
        for price in ("start_cents", "reserve_cents", "buy_now_cents"):
            amount = field(document, lot, price)
            assert (amount["minimum"], amount["maximum"]) == (1, MAX_AMOUNT_CENTS), price
        assert field(document, lot, "increments")["maxItems"] == MAX_INCREMENT_ROWS
        soft_close = field(document, lot, "soft_close")
        assert field(document, soft_close, "window_seconds")["maximum"] == SOFT_CLOSE_MAX_SECONDS
        extensions = field(document, soft_close, "max_extensions")
        assert extensions["maximum"] == SOFT_CLOSE_MAX_EXTENSIONS


def test_a_bid_and_a_price_filter_stop_at_the_platforms_largest_amount(
    document: dict[str, Any],
) -> None:
    bid = body_schema(document, "post", "/api/v1/auctions/{auction_id}/bids")
    for name in ("max_amount_cents", "max_amount"):
        assert field(document, bid, name)["maximum"] == MAX_AMOUNT_CENTS
    assert bid["oneOf"] == [{"required": ["max_amount_cents"]}, {"required": ["max_amount"]}]
    for path in ("/api/v1/auctions", "/api/v1/search/auctions"):
        parameters = document["paths"][path]["get"]["parameters"]
        query = {"properties": {p["name"]: p["schema"] for p in parameters}}
        for name in ("min_price", "max_price"):
            assert field(document, query, name)["maximum"] == MAX_AMOUNT_CENTS, (path, name)


def test_preferences_name_the_channels_and_notices_there_are(document: dict[str, Any]) -> None:
    preferences = body_schema(document, "patch", "/api/v1/users/me/preferences")
    assert preferences["propertyNames"] == {"enum": [channel.value for channel in CHANNELS]}
    assert preferences["additionalProperties"]["propertyNames"] == {"enum": list(NOTICES)}
    roles = body_schema(document, "put", "/api/v1/users/{user_id}/roles")
    assert field(document, roles, "roles")["items"] == {"enum": [role.value for role in Role]}


def test_refusals_are_documented_in_the_error_shape(document: dict[str, Any]) -> None:
    """A rule's own 422 code fits the document; an id in the path may be unknown (404)."""
    failure = {"$ref": f"{REF}ValidationFailure", "components": document["components"]}
    refused = {"error": {"code": "invalid_title", "message": "m", "request_id": "r"}}
    Draft202012Validator(failure).validate(refused)
    malformed = {"code": "validation_error", "message": "m", "request_id": "r"}
    Draft202012Validator(failure).validate({"error": malformed})
    assert not Draft202012Validator(failure).is_valid(
        {"error": {**malformed, "details": "not a list of problems"}}
    )
    for method, path, operation in operations(document):
        if "{" in path:
            assert "404" in operation["responses"], (method, path)
        if "requestBody" in operation:
            assert "400" in operation["responses"], (method, path)
