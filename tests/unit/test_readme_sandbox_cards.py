"""The README's table of test cards says what the sandbox payment provider answers.

Each card of the table is charged through the sandbox (``SandboxProvider.confirm``),
and its refusal goes through the payment service's error table, so the table is
checked against the status and code a client really gets. Every card the sandbox
declines appears in the table.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from auction_platform.services.payment import api, domain, handlers, sandbox
from auction_platform.services.payment.providers import ProviderError

README = Path(__file__).resolve().parents[2] / "README.md"
HEADER = "| card | answer |"
_CARD = re.compile(r"`(\d[\d ]{12,}\d)`")
# A number that passes the Luhn check and is none of Stripe's test cards.
NOT_A_TEST_CARD = "4111 1111 1111 1111"


def _table() -> list[tuple[list[str], str]]:
    """The table's rows: the card numbers of each, and its answer."""
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines.count(HEADER) == 1, "the README has one table of test cards"
    rows = []
    for line in lines[lines.index(HEADER) + 2 :]:
        if not line.startswith("|"):
            break
        card, answer = (cell.strip() for cell in line.strip("|").split("|"))
        rows.append((_CARD.findall(card) if card != "any other number" else [], answer))
    return rows


async def _answer(card: str) -> str:
    """What paying with ``card`` answers, written as the table writes it."""

    async def deliver(payload: bytes, signature: str) -> None:
        """The webhook event the sandbox sends: not needed here."""

    provider = sandbox.SandboxProvider(secret="whsec_readme", deliver=deliver)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    order = domain.new_order(
        order_id="o-1",
        auction_id="a-1",
        title="A Victorian tea set",
        buyer_id="bob",
        seller_id="sam",
        currency="EUR",
        hammer_cents=10_000,
        terms=domain.Terms(Decimal(5), Decimal(10), timedelta(days=2)),
        now=now,
    )
    try:
        await provider.confirm(await provider.create_intent(order), order, card)
    except ProviderError as error:
        refusal = handlers.provider_failed(error)
        return f"`{api.ERRORS.status_of(refusal)} {refusal.code}`"
    return "paid"


async def test_every_card_in_the_readme_answers_as_the_table_says() -> None:
    rows = _table()
    assert len(rows) >= 8
    for cards, answer in rows:
        for card in cards or [NOT_A_TEST_CARD]:
            assert await _answer(card) == answer, card


def test_every_card_the_sandbox_declines_is_in_the_readme() -> None:
    listed = {sandbox.card_digits(card) for cards, _ in _table() for card in cards}
    assert sandbox.SUCCEEDS in listed
    assert set(sandbox.DECLINES) <= listed, sorted(set(sandbox.DECLINES) - listed)
    # A number failing the Luhn check has its own answer, and the table shows one.
    assert any(not sandbox.luhn_valid(digits) for digits in listed)


def test_the_table_follows_the_paragraph_that_introduces_it() -> None:
    text = README.read_text(encoding="utf-8")
    introduced = text.index("with the\ncode below")
    # Only the end of that short paragraph stands between the sentence and the table.
    between = text[introduced : text.index(HEADER)]
    assert between.endswith("\n\n") and between.count("\n") <= 4, between
