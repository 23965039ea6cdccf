"""Tagged records: what a fan-out's request knew travels with each record; rejections still name the vendor's record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
import pytest

from numbroker import AvailableNumber, NumberType, SearchQuery
from numbroker.adapters import Cursor, Provider, RawPage, Tagged, make_offer, wire

from .vendors import QUERY, build_capped


class Typed(Provider):
    """A vendor answering one list per number type (``/local``, ``/mobile``) whose records name no type."""

    id: ClassVar[str] = "typed"
    display_name: ClassVar[str] = "Typed"
    default_base_url: ClassVar[str] = "https://typed.example"
    credentials: ClassVar[Mapping[str, str]] = {}
    record_id_field: ClassVar[str | None] = "id"
    wire_fields: ClassVar[Mapping[str, str]] = {"e164": "number"}

    def _auth_headers(self) -> dict[str, str]:
        return {}

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        async def fetch(kind: NumberType) -> list[Tagged[NumberType | None]]:
            answer = self.connection.json(await self.connection.get(self.connection.url(kind.value)))
            return [Tagged(record, kind) for record in answer["items"]]

        results, _ = await self._fan_out([NumberType.LOCAL, NumberType.MOBILE], fetch)
        return RawPage(records=[record for records in results.values() for record in records])

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        raw, kind = Tagged.split(record, query.number_type)
        rec = wire.record(raw)
        return make_offer(
            provider=self.id, offer_id=wire.text(rec, "id"), number=rec.get("number"), country="US", number_type=kind
        )


ANSWERS = {
    "/local": {"items": [{"id": "l1", "number": "+14155550100"}, {"id": "l2", "number": "+15551234567"}]},
    "/mobile": {"items": [{"id": "m1", "number": "+14155550101"}]},
}


def test_split_gives_the_tag_or_the_default_for_an_untagged_record() -> None:
    raw = {"id": "x"}

    assert (raw, NumberType.MOBILE) == Tagged.split(Tagged(raw, NumberType.MOBILE), NumberType.LOCAL)
    assert (raw, NumberType.LOCAL) == Tagged.split(raw, NumberType.LOCAL)


@pytest.mark.anyio
async def test_each_offer_takes_the_type_its_request_asked_for() -> None:
    """Records that name no type get the one their request was made with."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=ANSWERS[request.url.path])

    async with build_capped(Typed, handler) as provider:
        result = await provider.search(QUERY)

    assert {"l1": NumberType.LOCAL, "m1": NumberType.MOBILE} == {o.offer_id: o.number_type for o in result.offers}


@pytest.mark.anyio
async def test_a_rejected_tagged_record_is_named_by_the_vendors_own_id_and_field() -> None:
    """The wrapper never shows: a bad number names the record's id and the vendor's field; a key written twice too."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_with_repeated_key(request.url.path))

    async with build_capped(Typed, handler) as provider:
        result = await provider.search(QUERY)

    rejected = {r.offer_id: r for r in result.rejected}
    assert ["l2", "m2"] == sorted(rejected)
    assert "number" == rejected["l2"].field
    assert "number" == rejected["m2"].field
    assert "ambiguous" in rejected["m2"].reason


def _with_repeated_key(path: str) -> bytes:
    if path == "/mobile":
        return (
            b'{"items": [{"id": "m1", "number": "+14155550101"},'
            b' {"id": "m2", "number": "+14155550102", "number": "+14155550103"}]}'
        )
    return b'{"items": [{"id": "l1", "number": "+14155550100"}, {"id": "l2", "number": "+15551234567"}]}'
