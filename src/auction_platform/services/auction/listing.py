"""What a seller may list: the terms of a lot and the checks they must pass.

Pure: standard library only (and the platform's domain errors), no clock, no I/O.
The limits come from the settings and are passed in; ``domain`` builds the lifecycle
on top of these terms.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from auction_platform.contracts.money import CURRENCIES
from auction_platform.core.failures import Invalid
from auction_platform.services.auction.delivery import DEFAULT as DEFAULT_DELIVERY
from auction_platform.services.auction.delivery import Delivery, check_delivery

# eBay's bid increments: from this price (in minor units) on, bids go up by this much.
DEFAULT_INCREMENTS: tuple[tuple[int, int], ...] = (
    (0, 5),
    (100, 25),
    (500, 50),
    (2_500, 100),
    (10_000, 250),
    (25_000, 500),
    (50_000, 1_000),
    (100_000, 2_500),
    (250_000, 5_000),
    (500_000, 10_000),
)
MAX_INCREMENT_ROWS = 50
TITLE_LENGTH = (3, 120)
DESCRIPTION_MAX = 10_000
URL_MAX = 2_048
SOFT_CLOSE_MAX_SECONDS = 3_600
SOFT_CLOSE_MAX_EXTENSIONS = 100
# A Dutch lot's price falls once a tick: at most every 10 seconds (so a page showing it
# and a bidder accepting it agree), at least once a day.
DUTCH_TICK_SECONDS = (10, 86_400)

CATEGORY_PATTERN = r"^[a-z0-9-]{2,40}$"

_CATEGORY = re.compile(CATEGORY_PATTERN)
# The platform's own static files (the demo's images): plain characters only.
_STATIC_PATH = re.compile(r"/static/[A-Za-z0-9._/-]+")
# A photo a seller uploaded, as the platform serves it.
_PHOTO_PATH = re.compile(r"/api/v1/photos/[0-9a-f]{32}/display\.webp")
# Names that only mean something inside a network; an image there is never public.
_INTERNAL_NAMES = ("localhost",)
_INTERNAL_SUFFIXES = (".local", ".internal", ".localhost", ".home.arpa", ".arpa", ".lan")
# Any C0/C1 control character; descriptions may still carry line breaks and tabs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class InvalidTerms(Invalid):
    """A term of the listing is not acceptable; ``code`` says which."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a lot may run, how much it may cost, how many images it may show."""

    min_duration: timedelta
    max_duration: timedelta
    max_amount_cents: int
    max_images: int


@dataclass(frozen=True, slots=True)
class SoftClose:
    """A bid within ``window_seconds`` of the end moves the end ``extend_seconds`` later."""

    window_seconds: int = 120
    extend_seconds: int = 120
    max_extensions: int = 10


DEFAULT_SOFT_CLOSE = SoftClose()


class Format(StrEnum):
    """How a lot is sold (``contracts.auctions.AuctionFormat``).

    The English proxy auction; sealed bids, the winner paying their own bid or the
    second-highest (Vickrey); or a Dutch clock, whose price falls until someone accepts.
    """

    ENGLISH = "english"
    SEALED_FIRST_PRICE = "sealed_first_price"
    SEALED_SECOND_PRICE = "sealed_second_price"
    DUTCH = "dutch"


@dataclass(frozen=True, slots=True)
class DutchClock:
    """A Dutch lot's price falls by ``step_cents`` every ``tick_seconds``, to ``floor_cents``."""

    floor_cents: int
    step_cents: int
    tick_seconds: int


def default_soft_close(fmt: Format) -> SoftClose | None:
    """The soft close a listing gets when it says nothing: only an English auction has one."""
    return DEFAULT_SOFT_CLOSE if fmt is Format.ENGLISH else None


@dataclass(frozen=True, slots=True)
class Terms:
    """Everything a seller decides about a lot. Money in minor units; times in UTC."""

    title: str
    description: str
    category: str
    images: tuple[str, ...]
    currency: str
    start_cents: int
    reserve_cents: int | None
    buy_now_cents: int | None
    increments: tuple[tuple[int, int], ...]
    starts_at: datetime
    ends_at: datetime
    soft_close: SoftClose | None = DEFAULT_SOFT_CLOSE
    # A draft may leave its start to its publication ("start now"). Its ``starts_at``
    # is then only when it would start if published at the last save, and with a
    # ``duration`` its end moves with its start. Publishing fixes both times.
    starts_when_published: bool = False
    duration: timedelta | None = None
    # How the lot reaches its buyer (``delivery``): the buyer arranges, unless said.
    delivery: Delivery = DEFAULT_DELIVERY
    # How it is sold; a Dutch lot's clock (``dutch``), None in every other format.
    format: Format = Format.ENGLISH
    dutch: DutchClock | None = None


# The terms that say when a lot runs; ``revise`` reads them together.
_TIMES = ("starts_at", "ends_at", "duration")


def timed(terms: Terms, *, now: datetime) -> Terms:
    """The times the terms mean at ``now``.

    A start left to publication is ``now``; an end given as a duration is the start
    plus it. The duration is kept only while the start still waits for publication.
    """
    starts_at = now if terms.starts_when_published else terms.starts_at
    ends_at = starts_at + terms.duration if terms.duration is not None else terms.ends_at
    duration = terms.duration if terms.starts_when_published else None
    return replace(terms, starts_at=starts_at, ends_at=ends_at, duration=duration)


def fixed(terms: Terms, *, now: datetime) -> Terms:
    """The terms of a lot published at ``now``: a start left to publication is now."""
    return replace(timed(terms, now=now), starts_when_published=False, duration=None)


def revise(terms: Terms, changes: Mapping[str, Any], *, now: datetime) -> Terms:
    """``terms`` with ``changes`` (``Terms`` field names) applied, timed at ``now``.

    ``starts_at`` None leaves the start to publication; a new ``ends_at`` fixes the
    end, a ``duration`` makes it follow the start. A lot that ran for a duration
    keeps its length when it is given a start time. A new ``format`` brings its own
    soft close (none but for an English auction) and drops a Dutch clock it has no
    use for, unless ``changes`` say otherwise.
    """
    revised = replace(terms, **{k: v for k, v in changes.items() if k not in _TIMES})
    if "format" in changes and Format(changes["format"]) is not terms.format:
        if "soft_close" not in changes:
            revised = replace(revised, soft_close=default_soft_close(revised.format))
        if "dutch" not in changes and revised.format is not Format.DUTCH:
            revised = replace(revised, dutch=None)
    if "starts_at" in changes:
        start = changes["starts_at"]
        revised = replace(
            revised,
            starts_when_published=start is None,
            starts_at=revised.starts_at if start is None else start,
        )
    if "ends_at" in changes:
        revised = replace(revised, ends_at=changes["ends_at"], duration=None)
    if "duration" in changes:
        revised = replace(revised, duration=changes["duration"])
    return timed(revised, now=now)


def check_terms(terms: Terms, *, limits: Limits) -> Terms:
    """The terms, normalised (trimmed, UTC), or ``InvalidTerms`` naming the first fault."""
    terms = replace(
        terms,
        title=check_title(terms.title),
        description=check_description(terms.description),
        category=check_category(terms.category),
        images=check_images(terms.images, max_images=limits.max_images),
        currency=check_currency(terms.currency),
        increments=check_increments(terms.increments, max_cents=limits.max_amount_cents),
        starts_at=_utc(terms.starts_at, "starts_at"),
        ends_at=_utc(terms.ends_at, "ends_at"),
        soft_close=check_soft_close(terms.soft_close),
        delivery=check_delivery(terms.delivery, max_cents=limits.max_amount_cents),
    )
    check_prices(terms, max_cents=limits.max_amount_cents)
    check_format(terms, max_cents=limits.max_amount_cents)
    check_duration(terms.starts_at, terms.ends_at, limits=limits)
    return terms


def check_title(title: str) -> str:
    """A single line of 3 to 120 characters."""
    title = title.strip()
    low, high = TITLE_LENGTH
    if not low <= len(title) <= high:
        raise InvalidTerms("invalid_title", f"the title needs {low} to {high} characters")
    if _CONTROL.search(title):
        raise InvalidTerms("invalid_title", "the title must be a single line of text")
    return title


def check_description(description: str) -> str:
    """Up to 10,000 characters of text (line breaks allowed)."""
    description = description.strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidTerms(
            "invalid_description", f"the description is limited to {DESCRIPTION_MAX} characters"
        )
    if _CONTROL_BUT_LINES.search(description):
        raise InvalidTerms("invalid_description", "the description contains control characters")
    return description


def check_category(category: str) -> str:
    """A slug: 2 to 40 of ``a-z``, ``0-9`` and ``-``."""
    if not _CATEGORY.match(category):
        raise InvalidTerms(
            "invalid_category", "the category is a slug of 2-40 lower-case letters, digits or -"
        )
    return category


def check_currency(currency: str) -> str:
    """An ISO 4217 code the platform trades in."""
    code = currency.strip().upper()
    if code not in CURRENCIES:
        raise InvalidTerms("unknown_currency", f"{currency!r} is not a currency we accept")
    return code


def check_images(images: tuple[str, ...], *, max_images: int) -> tuple[str, ...]:
    """At most ``max_images`` public https URLs or own static paths, without duplicates."""
    if len(images) > max_images:
        raise InvalidTerms("too_many_images", f"a lot shows at most {max_images} images")
    if len(set(images)) != len(images):
        raise InvalidTerms("invalid_image_url", "the same image is listed twice")
    return tuple(check_image_url(url) for url in images)


def check_image_url(url: str) -> str:
    """A public https URL, an uploaded photo's path, or one of the platform's static images.

    A URL never points inside a network, never carries credentials. The platform
    does not fetch images itself (browsers do), so this is defence in depth against
    listings that point people's browsers, or a future thumbnailer, at internal
    hosts. A public name may still resolve to a private address; only code that
    fetches can check that, at fetch time.
    """
    if len(url) > URL_MAX:
        raise InvalidTerms("invalid_image_url", f"an image URL is limited to {URL_MAX} characters")
    if _PHOTO_PATH.fullmatch(url):
        return url
    if url.startswith("/"):
        return check_static_path(url)
    if _CONTROL.search(url) or any(c.isspace() or c == "\\" for c in url):
        raise InvalidTerms("invalid_image_url", "an image URL must not contain spaces or \\")
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        raise InvalidTerms("invalid_image_url", "image URLs must use https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidTerms("invalid_image_url", "image URLs must not carry credentials")
    try:
        port = parts.port
    except ValueError as error:
        raise InvalidTerms("invalid_image_url", "the image URL's port is not valid") from error
    if port not in (None, 443):
        raise InvalidTerms("invalid_image_url", "image URLs must use the standard https port")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidTerms("invalid_image_url", "the image URL has no host")
    if not _public_host(host):
        raise InvalidTerms("invalid_image_url", "image URLs must point at a public host")
    return url


def check_static_path(path: str) -> str:
    """``/static/`` and then letters, digits, ``. _ / -`` only; never ``..`` or ``//``."""
    # "//host/x" is a URL without a scheme to a browser, and ".." climbs out of /static/.
    if not _STATIC_PATH.fullmatch(path) or ".." in path or "//" in path:
        raise InvalidTerms(
            "invalid_image_url",
            "an image path is /static/... of letters, digits, '.', '_', '/' and '-', "
            "without '..' or '//'",
        )
    return path


def _public_host(host: str) -> bool:
    address = _ip_literal(host)
    if address is not None:
        return _public_address(address)
    if host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES):
        return False
    # A single label resolves through search domains, i.e. inside a network; a
    # numeric last label is an address in disguise that inet_aton did not take.
    labels = host.split(".")
    return len(labels) > 1 and not labels[-1].isdigit() and not labels[-1].startswith("0x")


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # Resolvers also take 2130706433, 0x7f.1 and 127.1 for 127.0.0.1.
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None and not _public_address(embedded):
            return False
    return address.is_global and not address.is_multicast


def check_increments(
    increments: tuple[tuple[int, int], ...], *, max_cents: int
) -> tuple[tuple[int, int], ...]:
    """Bands starting at 0, strictly ascending, each increment positive."""
    if not 1 <= len(increments) <= MAX_INCREMENT_ROWS:
        raise InvalidTerms(
            "invalid_increments", f"the increment table needs 1 to {MAX_INCREMENT_ROWS} rows"
        )
    if increments[0][0] != 0:
        raise InvalidTerms("invalid_increments", "the increment table must start at 0")
    previous = -1
    for start, step in increments:
        if start <= previous:
            raise InvalidTerms("invalid_increments", "increment bands must strictly ascend")
        if not 0 < step <= max_cents or start > max_cents:
            raise InvalidTerms("invalid_increments", "each increment must be positive")
        previous = start
    return tuple((int(start), int(step)) for start, step in increments)


def check_prices(terms: Terms, *, max_cents: int) -> None:
    """Start above 0; a reserve at least the start; Buy It Now above both."""
    start, reserve, buy_now = terms.start_cents, terms.reserve_cents, terms.buy_now_cents
    if not 0 < start <= max_cents:
        raise InvalidTerms(
            "invalid_start_price", f"the start price must be between 1 and {max_cents}"
        )
    if reserve is not None and not start <= reserve <= max_cents:
        raise InvalidTerms(
            "invalid_reserve", "the reserve must be at least the start price and within the limit"
        )
    if buy_now is not None:
        if not start < buy_now <= max_cents:
            raise InvalidTerms(
                "invalid_buy_now", "the Buy It Now price must exceed the start price"
            )
        if reserve is not None and buy_now < reserve:
            raise InvalidTerms(
                "invalid_buy_now", "the Buy It Now price must be at least the reserve"
            )


def check_format(terms: Terms, *, max_cents: int) -> None:
    """What each format takes: sealed bids and the Dutch clock end on their own schedule.

    Neither offers Buy It Now or a soft close; a Dutch lot has no reserve (its floor is
    the lowest price it sells at) and needs its clock, which no other format has.
    """
    fmt = terms.format
    if fmt is Format.ENGLISH:
        if terms.dutch is not None:
            raise InvalidTerms(
                "dutch_clock_not_offered", "only a Dutch auction has a clock; leave out dutch"
            )
        return
    if terms.buy_now_cents is not None:
        raise InvalidTerms("buy_now_not_offered", f"a {fmt.value} auction offers no Buy It Now")
    if terms.soft_close is not None:
        raise InvalidTerms(
            "soft_close_not_offered", f"a {fmt.value} auction has no soft close; send null"
        )
    if fmt is not Format.DUTCH:
        if terms.dutch is not None:
            raise InvalidTerms(
                "dutch_clock_not_offered", "only a Dutch auction has a clock; leave out dutch"
            )
        return
    if terms.reserve_cents is not None:
        raise InvalidTerms(
            "reserve_not_offered", "a Dutch auction has no reserve: its floor is the lowest price"
        )
    check_dutch_clock(terms.dutch, start_cents=terms.start_cents, max_cents=max_cents)


def check_dutch_clock(clock: DutchClock | None, *, start_cents: int, max_cents: int) -> None:
    """A floor from 1 to below the start price, a positive step, a tick of 10 s to a day."""
    if clock is None:
        raise InvalidTerms(
            "dutch_clock_required",
            "a Dutch auction needs its clock: floor_cents, step_cents, tick_seconds",
        )
    if not 1 <= clock.floor_cents < start_cents:
        raise InvalidTerms(
            "invalid_dutch_floor", "the floor must be at least 1 and below the start price"
        )
    if not 1 <= clock.step_cents <= max_cents:
        raise InvalidTerms("invalid_dutch_step", f"the step must be between 1 and {max_cents}")
    low, high = DUTCH_TICK_SECONDS
    if not low <= clock.tick_seconds <= high:
        raise InvalidTerms("invalid_dutch_tick", f"the price falls every {low} to {high} seconds")


def check_duration(starts_at: datetime, ends_at: datetime, *, limits: Limits) -> None:
    """The lot runs between the minimum and the maximum duration."""
    duration = ends_at - starts_at
    if duration < limits.min_duration:
        raise InvalidTerms(
            "invalid_duration",
            f"a lot runs at least {int(limits.min_duration.total_seconds())} seconds",
        )
    if duration > limits.max_duration:
        raise InvalidTerms(
            "invalid_duration", f"a lot runs at most {limits.max_duration.days} days"
        )


def check_soft_close(soft_close: SoftClose | None) -> SoftClose | None:
    """Window and extension up to an hour, up to 100 extensions; or none at all."""
    if soft_close is None:
        return None
    window, extend = soft_close.window_seconds, soft_close.extend_seconds
    if not (
        0 < window <= SOFT_CLOSE_MAX_SECONDS
        and 0 < extend <= SOFT_CLOSE_MAX_SECONDS
        and 0 < soft_close.max_extensions <= SOFT_CLOSE_MAX_EXTENSIONS
    ):
        raise InvalidTerms(
            "invalid_soft_close",
            f"window and extension are 1-{SOFT_CLOSE_MAX_SECONDS} seconds, "
            f"at most {SOFT_CLOSE_MAX_EXTENSIONS} extensions",
        )
    return soft_close


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidTerms("invalid_time", f"{name} needs a time zone (e.g. 'Z')")
    return moment.astimezone(UTC)
