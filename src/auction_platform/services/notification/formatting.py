"""How money and times read in notices: minor units per currency, UTC named.

Pure: standard library only. Money arrives as integer minor units with an ISO
4217 code (invariant 5); times as aware datetimes or ISO 8601 strings in UTC.
The words are English and independent of the process's locale.
"""

from __future__ import annotations

from datetime import UTC, datetime

# Minor units of the currencies that do not have two (ISO 4217); every other has two.
# The auction service's listing table names the currencies sellers may use.
_MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip

# Symbols only where they are unambiguous to our readers; others show the code.
_SYMBOLS: dict[str, str] = {"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥", "INR": "₹"}

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def minor_units(currency: str) -> int:
    """How many decimal places the currency has (EUR 2, JPY 0, KWD 3)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def money(cents: int, currency: str) -> str:
    """An amount in minor units as people read it: ``€1,234.50``, ``¥12,000``, ``CHF 80.00``."""
    code = currency.upper()
    places = minor_units(code)
    sign = "-" if cents < 0 else ""
    units, fraction = divmod(abs(int(cents)), 10**places)
    number = f"{units:,}" + (f".{fraction:0{places}d}" if places else "")
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{code} {number}"


def as_utc(value: datetime | str) -> datetime:
    """An aware UTC datetime from a datetime or an ISO 8601 string (naive means UTC)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def when(value: datetime | str) -> str:
    """A moment in UTC with the zone named: ``Tuesday 14 May 2024, 18:30 UTC``."""
    moment = as_utc(value)
    weekday, month = _WEEKDAYS[moment.weekday()], _MONTHS[moment.month - 1]
    return f"{weekday} {moment.day} {month} {moment.year}, {moment:%H:%M} UTC"


def short_when(value: datetime | str) -> str:
    """A compact moment for SMS: ``14 May, 18:30 UTC``."""
    moment = as_utc(value)
    return f"{moment.day} {_MONTHS[moment.month - 1][:3]}, {moment:%H:%M} UTC"


def minutes(count: int) -> str:
    """``1 minute``, ``15 minutes``, ``2 hours``, ``1 hour 30 minutes``."""
    hours, rest = divmod(max(0, int(count)), 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour" + ("s" if hours != 1 else ""))
    if rest or not hours:
        parts.append(f"{rest} minute" + ("s" if rest != 1 else ""))
    return " ".join(parts)
