"""Small vendors the engine tests run against: a JSON wire (numbered or token-paged), a capped list, raising fakes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx

from numbroker import AvailableNumber, ProviderResponseError, SearchQuery
from numbroker.adapters import (
    Cursor,
    Provider,
    ProviderRun,
    RawPage,
    RetryPolicy,
    make_offer,
    money_from_json_number,
)
from numbroker.testing import FakeProvider, offer

SECRET = "canary-secret-3f9a"
FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.01, jitter=0.0)
QUERY = SearchQuery(country="US")


def numbers(count: int) -> list[dict[str, Any]]:
    """Valid US records with distinct ids (415-555-01xx style numbers are valid in the plan)."""
    return [
        {"id": f"id{i}", "e164": f"+1415{2000000 + i:07d}", "country": "US", "monthly": i % 7} for i in range(count)
    ]


class WireProvider(Provider):
    """A minimal adapter over a JSON wire: /items?page=N (numbered) or ?token=T (token)."""

    id: ClassVar[str] = "wire"
    display_name: ClassVar[str] = "Wire"
    default_base_url: ClassVar[str] = "https://wire.example"
    credentials: ClassVar[Mapping[str, str]] = {"api_key": "WIRE_API_KEY"}
    record_id_field = "id"
    wire_fields: ClassVar[Mapping[str, str]] = {"e164": "number"}

    def __init__(self, *, api_key: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._creds = self._resolve_credentials({"api_key": api_key})

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._creds['api_key'].get_secret_value()}"}

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        params = {"page": cursor} if self.paging == "numbered" else ({"token": cursor} if cursor else {})
        data = self.connection.json(await self.connection.get(self.connection.url("items"), params=params))
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise ProviderResponseError(self.id, "envelope without items")
        return RawPage(records=data["items"], next_token=data.get("next"), total=data.get("total"))

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        return make_offer(
            provider=self.id,
            offer_id=record["id"],
            number=record["e164"],
            country=record["country"],
            monthly_price=money_from_json_number(record["monthly"], "USD", field="monthly"),
        )


class NumberedWire(WireProvider):
    paging = "numbered"
    per_page = 10
    max_pages = 20


class TokenWire(WireProvider):
    paging = "token"
    max_pages = 20


def build(
    cls: type[WireProvider], handler: Callable[[httpx.Request], httpx.Response | Any], **options: Any
) -> WireProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    options.setdefault("retry", FAST)
    return cls(api_key=SECRET, http_client=client, **options)


def numbered_server(
    records: list[dict[str, Any]], *, per_page: int = 10, total: int | None = None, log: list[int] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        if log is not None:
            log.append(page)
        chunk = records[(page - 1) * per_page : page * per_page]
        stated = len(records) if total is None else total
        return httpx.Response(200, json={"items": chunk, "total": stated})

    return handler


async def collect(provider: Provider, query: SearchQuery = QUERY, **kwargs: Any) -> tuple[list[Any], ProviderRun]:
    run = ProviderRun()
    pages: list[Any] = []

    async def sink(page: Any) -> None:
        pages.append(page)

    async with provider:
        await provider.stream_pages(query, sink, run=run, **kwargs)
    return pages, run


def ids(pages: list[Any]) -> list[str]:
    return sorted(o.offer_id for p in pages for o in p.offers)


def token_server(
    records: list[dict[str, Any]], *, per_page: int = 10, repeat_at: int | None = None, last_token: str | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("token", "0").removeprefix("t"))
        end = start + per_page
        body: dict[str, Any] = {"items": records[start:end]}
        if end < len(records):
            body["next"] = "t0" if repeat_at is not None and end >= repeat_at else f"t{end}"
        elif last_token is not None:
            body["next"] = last_token
        return httpx.Response(200, json=body)

    return handler


class Capped(Provider):
    """A vendor answering one capped list: ``{"items": [...], "capped": bool}``."""

    id: ClassVar[str] = "capped"
    display_name: ClassVar[str] = "Capped"
    default_base_url: ClassVar[str] = "https://capped.example"
    credentials: ClassVar[Mapping[str, str]] = {}

    def _auth_headers(self) -> dict[str, str]:
        return {}

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        data = self.connection.json(await self.connection.get(self.connection.url("items")))
        cut = ["the vendor answers at most 2 numbers: narrow the search"] if data["capped"] else []
        return RawPage(records=data["items"], truncated=cut)

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        return make_offer(provider=self.id, offer_id=None, number=record, country="US")


def build_capped(cls: type[Provider], handler: Callable[[httpx.Request], Any], **options: Any) -> Any:
    options.setdefault("retry", FAST)
    return cls(transport=httpx.MockTransport(handler), **options)


US = SearchQuery(country="US")


class Raising(FakeProvider):
    """A fake whose page or record handling raises what a careless adapter might."""

    def __init__(
        self,
        offers: Any = (),
        *,
        on_page: BaseException | None = None,
        on_record: Exception | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(offers, **kw)
        self.on_page = on_page
        self.on_record = on_record

    async def _fetch_page(self, query: SearchQuery, cursor: Any) -> RawPage:
        if self.on_page is not None:
            raise self.on_page
        return await super()._fetch_page(query, cursor)

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        if self.on_record is not None and isinstance(record, dict) and record.get("offer_id") == "bad":
            raise self.on_record
        return super()._normalize(record, query)


def good(pid: str) -> FakeProvider:
    return FakeProvider([offer(f"+1415555{i:04d}", provider=pid) for i in range(3)], provider_id=pid)
