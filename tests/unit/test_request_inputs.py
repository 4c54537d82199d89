"""The NUL checks every request passes through (core.inputs)."""

from __future__ import annotations

import json

import pytest

from auction_platform.core.inputs import encoded_has_nul, json_has_nul


@pytest.mark.parametrize(
    "document",
    [
        {"email": "a\u0000@x.org"},
        {"deep": [1, {"k": "x\u0000"}]},
        {"key\u0000": 1},
        {"after_a_backslash": "\\\u0000"},
    ],
)
def test_a_nul_in_any_json_string_is_found(document: object) -> None:
    assert json_has_nul(json.dumps(document).encode())
    assert json_has_nul(json.dumps(document, ensure_ascii=False).encode())


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "\\\\u0000"}',  # a backslash, then the letters u0000
        b'{"a": "\\\\\\\\u0000"}',  # two backslashes, then the letters
        b'{"a": "\\u00301"}',  # "01"
        b'{"a": 1}',
    ],
)
def test_text_that_only_looks_like_a_nul_is_not_one(body: bytes) -> None:
    assert not json_has_nul(body)
    assert "\u0000" not in json.dumps(json.loads(body))


def test_a_raw_zero_byte_is_refused_even_in_utf16() -> None:
    assert json_has_nul(json.dumps({"a": "b"}).encode("utf-16"))


def test_percent_encoded_nul_is_found_and_an_encoded_percent_is_not() -> None:
    assert encoded_has_nul(b"q=a%00b")
    assert encoded_has_nul(b"q=a\x00b")
    assert not encoded_has_nul(b"q=a%2500b")
    assert not encoded_has_nul(b"q=100")
