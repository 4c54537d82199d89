"""Money as every service and page shows it: integer minor units of an ISO 4217 currency."""

from __future__ import annotations

# ISO 4217 codes accepted for listings, with their minor units (cents per unit).
CURRENCIES: dict[str, int] = {
    "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0, "SEK": 2, "NOK": 2, "DKK": 2,
    "PLN": 2, "CZK": 2, "HUF": 2, "RON": 2, "BGN": 2, "ISK": 0, "TRY": 2, "UAH": 2,
    "CAD": 2, "AUD": 2, "NZD": 2, "MXN": 2, "BRL": 2, "CLP": 0, "COP": 2,
    "ARS": 2, "CNY": 2, "HKD": 2, "TWD": 2, "KRW": 0, "SGD": 2, "INR": 2, "IDR": 2,
    "MYR": 2, "PHP": 2, "THB": 2, "VND": 0, "ILS": 2, "AED": 2, "SAR": 2, "QAR": 2,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3, "EGP": 2, "ZAR": 2, "NGN": 2,
    "KES": 2, "MAD": 2,
}  # fmt: skip

# The largest amount anything on the platform names, in minor units (10^10: a hundred
# million in a two-decimal currency): a listing's prices and increments, a bid's
# maximum, a price filter. AUCTION_MAX_AMOUNT_CENTS may set the listings' lower.
MAX_AMOUNT_CENTS = 10**10

# Symbols people read without a second look; other currencies show their code.
SYMBOLS: dict[str, str] = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩",
    "ILS": "₪", "NGN": "₦", "UAH": "₴", "VND": "₫", "TRY": "₺", "PHP": "₱",
}  # fmt: skip


class InvalidAmount(ValueError):
    """An amount a person typed that is not money in the currency."""


def minor_units(currency: str) -> int:
    """How many decimal places the currency has (2 when unknown)."""
    return CURRENCIES.get(currency.upper(), 2)


def format_money(cents: int, currency: str) -> str:
    """``3100, "USD"`` -> ``"$31.00"``; ``1500, "SEK"`` -> ``"15.00 SEK"``."""
    places = minor_units(currency)
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 10**places)
    number = f"{whole:,}" + (f".{fraction:0{places}d}" if places else "")
    symbol = SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency.upper()}"


def parse_amount(text: str, currency: str) -> int:
    """``"31"``, ``"31.5"``, ``"1,031.50"`` in USD -> minor units; ``InvalidAmount`` otherwise."""
    places = minor_units(currency)
    cleaned = text.strip().replace(",", "").replace(" ", "")
    for symbol in (SYMBOLS.get(currency.upper(), ""), currency.upper()):
        if symbol:
            cleaned = cleaned.replace(symbol, "")
    whole, dot, fraction = cleaned.partition(".")
    if not whole and not fraction:
        raise InvalidAmount("enter an amount")
    if not (whole or "0").isdigit() or (dot and not fraction.isdigit()) or len(whole) > 12:
        raise InvalidAmount("enter an amount as digits, like 25 or 25.50")
    if len(fraction) > places:
        raise InvalidAmount(f"{currency.upper()} has {places} decimal places")
    cents: int = int(whole or "0") * 10**places + int(fraction.ljust(places, "0") or "0")
    return cents
