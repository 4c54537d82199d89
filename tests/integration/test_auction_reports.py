"""Reports and the moderation queue through the gateway, with the reporters' mail.

Every test runs embedded (SQLite, in-process broker) and distributed (PostgreSQL,
Redis), with the notification service mailing a real SMTP server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from auction_platform.composition import Platform
from auction_platform.settings import Settings
from support.accounts import Account, sign_up
from support.auctions import admin_token, create, open_lot, outbox, place_bid, seller
from support.platforms import client, running
from support.smtp import SmtpServer, smtp_server
from support.waiting import eventually

ALL = ("identity", "auction", "bidding", "payment", "notification", "analytics", "gateway")
MakeSettings = Callable[..., Settings]
REPORTS = "/api/v1/reports"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def platform(make_settings: MakeSettings, smtp: SmtpServer) -> AsyncIterator[Platform]:
    """Every service, mailing the test's SMTP server."""
    async with running(make_settings(**smtp.settings()), ALL, embedded=True) as started:
        yield started


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with client(platform.apps["gateway"]) as gateway:
        yield gateway


async def report(
    http: httpx.AsyncClient, who: Account, target_type: str, target_id: str, **body: Any
) -> httpx.Response:
    payload = {"target_type": target_type, "target_id": target_id, "reason": "counterfeit"}
    return await http.post(REPORTS, json={**payload, **body}, headers=who.headers)


def refused(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


async def test_a_member_reports_a_listing_once_while_it_is_open(http: httpx.AsyncClient) -> None:
    sam = await seller(http)
    ann = await sign_up(http, name="Ann")
    lot = await create(http, sam, publish=True)

    first = await report(http, ann, "auction", lot["id"], comment="  The logo is wrong.  ")
    assert first.status_code == 201, first.text
    filed = first.json()["report"]
    assert filed["status"] == "open" and filed["comment"] == "The logo is wrong."
    assert filed["reporter_id"] == ann.id and filed["outcome"] is None

    refused(await report(http, ann, "auction", lot["id"]), 409, "report_open")
    mine = (await http.get(f"{REPORTS}/mine", headers=ann.headers)).json()["items"]
    assert [r["id"] for r in mine] == [filed["id"]]


async def test_nobody_reports_their_own_listing_or_themselves(http: httpx.AsyncClient) -> None:
    sam = await seller(http)
    lot = await create(http, sam, publish=True)
    refused(await report(http, sam, "auction", lot["id"]), 422, "own_target")
    refused(await report(http, sam, "user", sam.id), 422, "own_target")


async def test_a_listing_nobody_may_see_cannot_be_reported(http: httpx.AsyncClient) -> None:
    sam = await seller(http)
    ann = await sign_up(http, name="Ann")
    draft = await create(http, sam)
    refused(await report(http, ann, "auction", draft["id"]), 404, "auction_not_found")
    refused(await report(http, ann, "auction", "no-such-lot"), 404, "auction_not_found")


async def test_the_comment_is_required_for_other_and_kept_within_its_limits(
    http: httpx.AsyncClient,
) -> None:
    sam = await seller(http)
    ann = await sign_up(http, name="Ann")
    lot = await create(http, sam, publish=True)
    refused(await report(http, ann, "auction", lot["id"], reason="other"), 422, "invalid_comment")
    refused(
        await report(http, ann, "auction", lot["id"], reason="other", comment="   "),
        422,
        "invalid_comment",
    )
    refused(
        await report(http, ann, "auction", lot["id"], comment="x" * 1001), 422, "invalid_comment"
    )
    refused(
        await report(http, ann, "auction", lot["id"], comment="bell \x07 here"),
        422,
        "invalid_comment",
    )
    bad_reason = await report(http, ann, "auction", lot["id"], reason="ugly")
    assert bad_reason.status_code == 422, bad_reason.text
    assert (await report(http, ann, "auction", lot["id"], comment="x" * 1000)).status_code == 201


async def test_reports_need_a_signed_in_member_and_the_queue_an_admin(
    http: httpx.AsyncClient,
) -> None:
    ann = await sign_up(http, name="Ann")
    answer = await http.post(
        REPORTS, json={"target_type": "user", "target_id": ann.id, "reason": "harassment"}
    )
    assert answer.status_code == 401
    assert (await http.get(REPORTS, headers=ann.headers)).status_code == 403
    resolve = await http.post(
        f"{REPORTS}/whatever/resolution", json={"outcome": "dismiss"}, headers=ann.headers
    )
    assert resolve.status_code == 403


async def test_the_queue_groups_reports_by_target_with_its_context(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_token(http, platform)
    sam = await seller(http)
    ann, bob = await sign_up(http, name="Ann"), await sign_up(http, name="Bob")
    lot = await create(http, sam, publish=True, title="A fake Rolex")
    assert (await report(http, ann, "auction", lot["id"])).status_code == 201
    assert (
        await report(http, bob, "auction", lot["id"], reason="prohibited_item")
    ).status_code == 201
    assert (await report(http, ann, "user", sam.id, reason="shill_bidding")).status_code == 201

    answer = await http.get(REPORTS, params={"status": "open"}, headers=admin)
    assert answer.status_code == 200, answer.text
    targets = answer.json()["targets"]
    assert [(t["target_type"], len(t["reports"])) for t in targets] == [
        ("auction", 2),
        ("user", 1),
    ]
    listing, member = targets[0]["context"], targets[1]["context"]
    assert listing["title"] == "A fake Rolex" and listing["seller_id"] == sam.id
    assert listing["status"] == "scheduled" and listing["photos"] == 1
    assert listing["price_cents"] == 10_000 and listing["currency"] == "EUR"
    assert listing["reports_open"] == 2
    assert member["open_listings"] == 1 and member["reports_total"] == 1
    bad = await http.get(REPORTS, params={"status": "later"}, headers=admin)
    assert bad.status_code == 422


async def test_resolving_one_report_resolves_every_open_report_on_the_target(
    http: httpx.AsyncClient, platform: Platform, smtp: SmtpServer
) -> None:
    admin = await admin_token(http, platform)
    sam = await seller(http)
    ann, bob = await sign_up(http, name="Ann"), await sign_up(http, name="Bob")
    lot = await create(http, sam, publish=True, title="A fake Rolex")
    first = (await report(http, ann, "auction", lot["id"])).json()["report"]
    second = (await report(http, bob, "auction", lot["id"])).json()["report"]

    body = {"outcome": "warn", "note": "Say it is a replica."}
    done = await http.post(f"{REPORTS}/{first['id']}/resolution", json=body, headers=admin)
    assert done.status_code == 200, done.text
    assert {r["id"] for r in done.json()["resolved"]} == {first["id"], second["id"]}
    again = await http.post(f"{REPORTS}/{second['id']}/resolution", json=body, headers=admin)
    refused(again, 409, "report_resolved")
    assert (await http.get(REPORTS, headers=admin)).json()["targets"] == []

    mine = (await http.get(f"{REPORTS}/mine", headers=bob.headers)).json()["items"]
    assert mine[0]["outcome"] == "warn" and mine[0]["note"] is None  # the note is the admins'
    # A new report of the same target may be filed once the last was resolved.
    assert (await report(http, ann, "auction", lot["id"])).status_code == 201

    [event] = await outbox(platform, "ReportResolved")
    assert set(event["reporter_ids"]) == {ann.id, bob.id} and event["answerable_id"] == sam.id
    [record] = [
        a for a in await outbox(platform, "AuditRecorded") if a["action"] == "report.resolved"
    ]
    assert record["target"] == f"report:{first['id']}" and record["reason"] == body["note"]
    assert record["details"]["outcome"] == "warn"
    assert set(record["details"]["report_ids"]) == {first["id"], second["id"]}

    for reporter in (ann, bob):
        [mail] = await smtp.wait_for(reporter.email, "report_resolved")
        assert "A fake Rolex" in mail.subject and "warned" in mail.text
        assert "replica" not in mail.text
    [warning] = await smtp.wait_for(sam.email, "report_warning")
    assert "A fake Rolex" in warning.subject and "Say it is a replica." in warning.text


async def test_removing_a_listing_cancels_the_lot_and_voids_its_bids(
    http: httpx.AsyncClient, platform: Platform, smtp: SmtpServer
) -> None:
    admin = await admin_token(http, platform)
    sam = await seller(http)
    ann, bob = await sign_up(http, name="Ann"), await sign_up(http, name="Bob")
    lot = await open_lot(http, sam, title="A stolen bicycle")
    await place_bid(http, lot["id"], bob, 20_000)
    filed = (await report(http, ann, "auction", lot["id"], reason="prohibited_item")).json()

    path = f"{REPORTS}/{filed['report']['id']}/resolution"
    done = await http.post(path, json={"outcome": "remove_listing"}, headers=admin)
    assert done.status_code == 200, done.text
    auction = (await http.get(f"/api/v1/auctions/{lot['id']}")).json()["auction"]
    assert auction["status"] == "cancelled"
    [cancelled] = await outbox(platform, "AuctionCancelled")
    assert cancelled["by"] == "admin" and cancelled["bids_voided"] is True

    [mail] = await smtp.wait_for(ann.email, "report_resolved")
    assert "removed the listing" in mail.text
    await smtp.wait_for(bob.email, "auction_cancelled")


async def test_outcomes_that_do_not_fit_are_refused(
    http: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await admin_token(http, platform)
    ann, bob = await sign_up(http, name="Ann"), await sign_up(http, name="Bob")
    filed = (await report(http, ann, "user", bob.id, reason="harassment")).json()["report"]
    path = f"{REPORTS}/{filed['id']}/resolution"
    refused(
        await http.post(path, json={"outcome": "remove_listing"}, headers=admin),
        422,
        "outcome_not_applicable",
    )
    refused(
        await http.post(path, json={"outcome": "warn", "note": "n" * 1001}, headers=admin),
        422,
        "invalid_note",
    )
    refused(
        await http.post(f"{REPORTS}/nothing/resolution", json={"outcome": "warn"}, headers=admin),
        404,
        "report_not_found",
    )
    suspended = await http.post(path, json={"outcome": "suspend"}, headers=admin)
    assert suspended.status_code == 200, suspended.text
    [event] = await outbox(platform, "ReportResolved")
    assert event["outcome"] == "suspend" and event["answerable_id"] == bob.id


async def test_two_reports_at_once_by_one_member_leave_one_open(http: httpx.AsyncClient) -> None:
    ann, bob = await sign_up(http, name="Ann"), await sign_up(http, name="Bob")
    answers = await asyncio.gather(*(report(http, ann, "user", bob.id) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]

    async def mine() -> list[Any]:
        items: list[Any] = (await http.get(f"{REPORTS}/mine", headers=ann.headers)).json()["items"]
        return items

    assert len(await eventually(mine)) == 1
