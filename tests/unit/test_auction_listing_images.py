"""Images of a lot may be the platform's own static files: ``/static/...`` paths."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from auction_platform.services.auction.listing import (
    DEFAULT_INCREMENTS,
    URL_MAX,
    InvalidTerms,
    Limits,
    Terms,
    check_image_url,
    check_terms,
)

START = datetime(2030, 1, 1, 12, tzinfo=UTC)
TERMS = Terms(
    title="Silver teapot",
    description="",
    category="home",
    images=(),
    currency="GBP",
    start_cents=8_000,
    reserve_cents=None,
    buy_now_cents=None,
    increments=DEFAULT_INCREMENTS,
    starts_at=START,
    ends_at=START + timedelta(days=1),
)
LIMITS = Limits(
    min_duration=timedelta(minutes=1),
    max_duration=timedelta(days=30),
    max_amount_cents=10**10,
    max_images=3,
)


@pytest.mark.parametrize(
    "path",
    [
        "/static/demo/camera.svg",
        "/static/site.css",
        "/static/demo/a_b-c.2.png",
        "/static/" + "a" * (URL_MAX - len("/static/")),
    ],
)
def test_paths_of_the_platforms_own_static_images_are_accepted(path: str) -> None:
    assert check_image_url(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "/static/../x",
        "/static/demo/../../etc/passwd",
        "/static/..",
        "//evil.example/x.png",
        "/static//evil.example/x.png",
        "/other/x.png",
        "/static",
        "/static/",
        "/staticx/a.png",
        "/static/a b.png",
        "/static/a%2e%2e/x.png",
        "/static/a.png?v=1",
        "/static/a.png#top",
        "/static/a\\b.png",
        "/static/a.png\n",
        "/static/caf\u00e9.png",
        "/static/" + "a" * (URL_MAX - len("/static/") + 1),
        "http://images.example.com/static/demo/camera.svg",
        "static/demo/camera.svg",
    ],
)
def test_other_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidTerms) as refused:
        check_image_url(path)
    assert refused.value.code == "invalid_image_url"


def test_a_lot_may_mix_static_paths_and_public_urls() -> None:
    images = ("/static/demo/teapot.svg", "https://images.example.com/teapot-back.jpg")
    assert check_terms(replace(TERMS, images=images), limits=LIMITS).images == images
