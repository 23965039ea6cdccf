"""The kit's owned-list hook: paged and streamed like a search, rejecting bad records, masking echoed
secrets, retried, and the ownership check buying makes, answered over the same walk."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import anyio
import httpx
import pytest

from numbroker import (
    AvailableNumber,
    OwnedNumber,
    OwnedQuery,
    OwnedStatus,
    ProviderResponseError,
    PurchaseError,
    SearchQuery,
)
from numbroker.adapters import Cursor, OwnedPageResult, Provider, RawPage, RetryPolicy, make_owned, wire
from numbroker.adapters._portfolio import OWNED_WINDOW_RECORDS, owned_window

FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.01, jitter=0.0)
SECRET = "owned-list-token-0123456789abcdef"


class Ledgerish(Provider):
    """A vendor listing owned numbers by page: ``{"items": [...], "total": n}``."""

    id: ClassVar[str] = "ledgerish"
    display_name: ClassVar[str] = "Ledgerish"
    default_base_url: ClassVar[str] = "https://ledgerish.example"
    credentials: ClassVar[Mapping[str, str]] = {"token": "LEDGERISH_TOKEN"}
    supports_purchase = True
    owned_paging = "numbered"
    owned_per_page = 2
    record_id_field = "id"
    wire_fields: ClassVar[Mapping[str, str]] = {"e164": "number", "provider_number_id": "id"}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._token = self._resolve_credentials({"token": None})["token"]

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token.get_secret_value()}"}

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        raise AssertionError("not searched")

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        raise AssertionError("not searched")

    async def _fetch_owned_page(self, query: OwnedQuery, cursor: Cursor) -> RawPage:
        url = self.connection.url("owned")
        data = self.connection.json(
            await self.connection.get(url, params={"page": cursor, "size": self.owned_per_page})
        )
        return RawPage(records=data["items"], total=data.get("total"))

    def _normalize_owned(self, record: Any, query: OwnedQuery) -> OwnedNumber:
        data = wire.record(record)
        return make_owned(
            provider=self.id,
            provider_number_id=wire.text(data, "id"),
            number=data.get("number"),
            country="US",
            status=OwnedStatus.ACTIVE,
            sub_account=wire.text(data, "sub", optional=True),
        )


def numbers(count: int) -> list[dict[str, Any]]:
    return [{"id": f"n{i}", "number": f"+1415555{2600 + i:04d}"} for i in range(count)]


def serve(items: list[Any], *, total: int | None = None, fail_first: int = 0) -> tuple[httpx.MockTransport, list[int]]:
    asked: list[int] = []
    failures = {"left": fail_first}

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {SECRET}"
        page, size = int(request.url.params["page"]), int(request.url.params["size"])
        asked.append(page)
        if failures["left"]:
            failures["left"] -= 1
            return httpx.Response(503, json={"error": "busy"})
        chunk = items[(page - 1) * size : page * size]
        return httpx.Response(200, json={"items": chunk, "total": len(items) if total is None else total})

    return httpx.MockTransport(handler), asked


def provider(transport: httpx.MockTransport) -> Ledgerish:
    return Ledgerish(transport=transport, env={"LEDGERISH_TOKEN": SECRET}, retry=FAST)


@pytest.mark.anyio
async def test_every_page_is_streamed_and_counted() -> None:
    transport, asked = serve(numbers(5))
    pages: list[OwnedPageResult] = []

    async def sink(page: OwnedPageResult) -> None:
        pages.append(page)

    async with provider(transport) as vendor:
        stats = await vendor.stream_owned(sink)
    assert sorted(asked) == [1, 2, 3]
    assert sorted(p.page for p in pages) == [1, 2, 3]
    assert sorted(n.provider_number_id for p in pages for n in p.numbers) == [f"n{i}" for i in range(5)]
    assert (stats.pages, stats.offers, stats.rejected, stats.truncated) == (3, 5, 0, False)


@pytest.mark.anyio
async def test_a_bad_record_is_rejected_naming_the_vendor_field_and_the_rest_listed() -> None:
    items = [*numbers(2), {"id": "bad", "number": "not a number"}, {"id": "n9", "number": "+14155552609", "sub": 7}]
    transport, _ = serve(items)
    async with provider(transport) as vendor:
        listed, rejected, stats = await vendor.list_owned()
    assert [n.provider_number_id for n in listed] == ["n0", "n1"]
    assert [(r.offer_id, r.field) for r in rejected] == [("bad", "number"), ("n9", "sub")]
    assert stats.rejected == 2


@pytest.mark.anyio
async def test_an_echoed_secret_is_masked_and_an_id_holding_one_is_not_listed() -> None:
    items = [
        {"id": "n0", "number": "+14155552600", "sub": f"SA {SECRET}"},
        {"id": f"id-{SECRET}", "number": "+14155552601"},
    ]
    transport, _ = serve(items)
    async with provider(transport) as vendor:
        listed, rejected, _ = await vendor.list_owned()
    assert SECRET not in repr((listed, rejected))
    assert [n.sub_account for n in listed] == ["SA ***"]
    assert [(r.field, r.reason) for r in rejected] == [
        ("id", "the vendor's id for this number holds a credential: not listed")
    ]


@pytest.mark.anyio
async def test_reads_are_retried() -> None:
    transport, asked = serve(numbers(3), fail_first=2)
    async with provider(transport) as vendor:
        listed, _, stats = await vendor.list_owned()
    assert len(listed) == 3
    assert asked[:3] == [1, 1, 1]
    assert stats.retries == 2


@pytest.mark.anyio
async def test_a_lying_total_marks_the_list_truncated_and_ownership_unprovable() -> None:
    transport, _ = serve(numbers(3), total=9)  # page 2 short while the total says more: records are missing
    async with provider(transport) as vendor:
        _, _, stats = await vendor.list_owned()
        assert stats.truncated
        assert await vendor.owns("+14155552601")  # found: an answer, whatever is missing
        with pytest.raises(ProviderResponseError, match="not read completely"):
            await vendor.owns("+14155559999")


@pytest.mark.anyio
async def test_ownership_uses_the_owned_list_hook() -> None:
    items = numbers(5)
    transport, asked = serve(items)
    async with provider(transport) as vendor:
        assert await vendor.owns("+1 415 555 2600")
        assert await vendor.owns("+14155552604")  # on the last page
        asked.clear()
        assert not await vendor.owns("+14155559999")
        assert sorted(asked) == [1, 2, 3]  # a "no" rests on every page


@pytest.mark.anyio
async def test_an_unreadable_entry_makes_a_no_unprovable_but_not_a_yes() -> None:
    transport, _ = serve([*numbers(2), {"id": "x"}])
    async with provider(transport) as vendor:
        assert await vendor.owns("+14155552601")
        with pytest.raises(ProviderResponseError, match="could not be read"):
            await vendor.owns("+14155559999")


@pytest.mark.anyio
async def test_a_provider_without_the_hook_cannot_list() -> None:
    class Searching(Ledgerish):
        id: ClassVar[str] = "searching"
        _fetch_owned_page = Provider._fetch_owned_page

    assert Ledgerish.lists_owned() and not Searching.lists_owned()
    async with Searching(env={"LEDGERISH_TOKEN": SECRET}) as vendor:
        with pytest.raises(PurchaseError, match="cannot list its numbers"):
            await vendor.list_owned()


@pytest.mark.anyio
async def test_a_list_that_ends_before_its_stated_total_is_incomplete() -> None:
    transport, _ = serve([], total=1000)  # an empty first page of a list said to hold 1000
    async with provider(transport) as vendor:
        listed, _, stats = await vendor.list_owned()
        assert (listed, stats.truncated) == ([], True)
        assert any("ended at 0 of the 1000" in note for note in stats.notes)
        with pytest.raises(ProviderResponseError, match="not read completely"):
            await vendor.owns("+14155559999")


@pytest.mark.anyio
async def test_rejected_records_past_the_kept_ones_are_counted_and_make_a_no_unprovable() -> None:
    from numbroker.adapters._normalizing import REJECTED_KEPT

    bad = [{"id": f"b{i}", "number": "nope"} for i in range(REJECTED_KEPT + 20)]
    transport, _ = serve([*numbers(3), *bad])
    vendor = provider(transport)
    vendor.owned_per_page = 500  # type: ignore[misc]
    async with vendor:
        listed, rejected, stats = await vendor.list_owned()
        with pytest.raises(ProviderResponseError, match="could not be read"):
            await vendor.owns("+14155559999")
    assert (len(listed), len(rejected), stats.rejected, stats.rejected_kept) == (3, REJECTED_KEPT, 120, 100)
    assert any("20 more rejected records" in note for note in stats.report_notes())


@pytest.mark.anyio
async def test_a_list_of_junk_fails_as_junk_without_reading_it_all() -> None:
    from numbroker.adapters import ProviderRun
    from numbroker.adapters._normalizing import JUNK_REJECTED

    transport, _ = serve([1] * 50_000)
    vendor = provider(transport)
    vendor.owned_per_page = 50_000  # type: ignore[misc]
    run = ProviderRun()
    pages: list[OwnedPageResult] = []

    async def sink(page: OwnedPageResult) -> None:
        pages.append(page)

    async with vendor:
        with pytest.raises(ProviderResponseError, match="junk"):
            await vendor.stream_owned(sink, run=run)
    assert JUNK_REJECTED < run.stats.rejected < 2 * JUNK_REJECTED and run.stats.records < 2 * JUNK_REJECTED
    assert sum(len(p.rejected) for p in pages) <= 100


class Wide(Ledgerish):
    """The same vendor, answering a hundred numbers a page."""

    owned_per_page = 100


@pytest.mark.parametrize(
    ("per_page", "concurrency", "window"),
    [(2, 8, 8), (20, 8, 8), (100, 8, OWNED_WINDOW_RECORDS // 100), (250, 8, 1), (1000, 8, 1), (2, 3, 3)],
)
def test_the_owned_window_is_whole_pages_within_its_record_budget(per_page: int, concurrency: int, window: int) -> None:
    lister = type("Lister", (), {"owned_per_page": per_page, "page_concurrency": concurrency})()
    assert owned_window(lister) == window
    assert 1 <= window <= concurrency


@pytest.mark.anyio
async def test_no_more_owned_pages_are_in_flight_than_the_window() -> None:
    items = numbers(1000)
    now = {"in_flight": 0, "most": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params["page"]), int(request.url.params["size"])
        now["in_flight"] += 1
        now["most"] = max(now["most"], now["in_flight"])
        await anyio.sleep(0.005)
        now["in_flight"] -= 1
        return httpx.Response(200, json={"items": items[(page - 1) * size : page * size], "total": len(items)})

    async with Wide(transport=httpx.MockTransport(handler), env={"LEDGERISH_TOKEN": SECRET}, retry=FAST) as vendor:
        listed, _, stats = await vendor.list_owned()
    assert (len(listed), stats.pages) == (1000, 10)
    assert now["most"] == owned_window(vendor) == OWNED_WINDOW_RECORDS // 100 < vendor.page_concurrency


@pytest.mark.anyio
async def test_an_entry_listed_again_on_a_later_page_is_dropped_as_a_repeat() -> None:
    items = [*numbers(3), numbers(1)[0], *numbers(5)[3:]]  # n0 again on page 2, n3 and n4 after it
    transport, _ = serve(items)
    async with provider(transport) as vendor:
        listed, _, stats = await vendor.list_owned()
    assert sorted(n.provider_number_id for n in listed) == ["n0", "n1", "n2", "n3", "n4"]  # pages may land in any order
    assert stats.duplicates == 1
