"""The account's own numbers: a per-number answer first, else the whole list, read completely."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import httpx
import pytest

from numbroker import ConfigurationError, ProviderResponseError
from numbroker.adapters import FieldError, OwnedEntry, OwnedPage, wire
from numbroker.adapters._owned import holds_number, walk_owned_numbered, walk_owned_tokens

from .vendors import Capped, build_capped


class Owner(Capped):
    """Owns +14155550100 and +14155550101; looks one number up at /owned/<e164> when ``lookups``."""

    supports_purchase: ClassVar[bool] = True
    lookups: ClassVar[bool] = True

    async def _owns_number(self, e164: str) -> bool | None:
        if not self.lookups:
            return None
        answer = self.connection.json(await self.connection.get(self.connection.url("owned", e164)))
        if answer.get("number") not in (None, e164):
            raise ProviderResponseError(self.id, "an answer about another number")
        return bool(answer.get("number") == e164)

    def _owned_numbers(self) -> AsyncIterator[str]:
        async def walk() -> AsyncIterator[str]:
            answer = self.connection.json(await self.connection.get(self.connection.url("owned")))
            for number in answer["numbers"]:
                yield number

        return walk()


def owner_vendor(log: list[str], lookups: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request.url.path)
        if request.url.path == "/owned":
            return httpx.Response(200, json={"numbers": ["+14155550100", "+14155550101"]})
        return httpx.Response(200, json=lookups.pop(0))

    return handler


@pytest.mark.anyio
@pytest.mark.parametrize(("answer", "owned"), [({"number": "+14155550101"}, True), ({}, False)])
async def test_owns_asks_the_per_number_hook_and_walks_nothing(answer: dict[str, Any], owned: bool) -> None:
    """_owns_number answers for one canonical number: the owned list is not walked."""
    log: list[str] = []
    async with build_capped(Owner, owner_vendor(log, [answer])) as provider:
        assert owned is await provider.owns("+1 415 555 0101")
    assert ["/owned/+14155550101"] == log


@pytest.mark.anyio
async def test_an_unprovable_per_number_answer_is_asked_again() -> None:
    """A ProviderResponseError from the hook is asked again, within retry.attempts."""
    log: list[str] = []
    answers = [{"number": "+14155550199"}, {"number": "+14155550101"}]
    async with build_capped(Owner, owner_vendor(log, answers)) as provider:
        assert await provider.owns("+14155550101")
    assert 2 == len(log)


@pytest.mark.anyio
async def test_without_a_per_number_answer_the_owned_list_is_walked() -> None:
    log: list[str] = []
    cls = type("Walker", (Owner,), {"lookups": False})
    async with build_capped(cls, owner_vendor(log, [])) as provider:
        assert await provider.owns("+14155550100")
        assert not await provider.owns("+14155550102")
        with pytest.raises(ConfigurationError, match="not a phone number"):
            await provider.owns("nope")
    assert ["/owned", "/owned"] == log


# -- owned-list entries and pages ------------------------------------------------------------------


async def entries(*items: str | OwnedEntry) -> AsyncIterator[str | OwnedEntry]:
    for item in items:
        yield item


@pytest.mark.anyio
async def test_an_entry_the_account_does_not_hold_never_counts_as_owned() -> None:
    """A released number the vendor still lists is walked but is no proof of ownership; a held one is."""
    released = OwnedEntry("+14155550100", held=False, status="deleted")

    assert not await holds_number(entries(released, "+14155550101"), "+14155550100", provider_id="p")
    assert await holds_number(entries(released, OwnedEntry("+1 415 555 0100")), "+14155550100", provider_id="p")


@pytest.mark.anyio
async def test_an_unreadable_held_entry_makes_a_no_unprovable_but_a_released_one_does_not() -> None:
    with pytest.raises(ProviderResponseError, match="1 owned numbers are not readable"):
        await holds_number(entries("", "+14155550101"), "+14155550100", provider_id="p")

    assert not await holds_number(entries(OwnedEntry("", held=False)), "+14155550100", provider_id="p")


def test_a_page_from_items_takes_each_items_number_as_written() -> None:
    """An item without a string at the key is an entry without a readable number: "" (it still fills the page)."""
    page = OwnedPage.from_items([{"e164": "+14155550100"}, {"e164": 14155550101}, "junk", {}], "e164", total=4)

    assert ["+14155550100", "", "", ""] == list(page.numbers)
    assert 4 == page.total


@pytest.mark.anyio
async def test_entries_not_held_fill_their_page_so_the_walk_goes_on() -> None:
    """A full page of released entries is still a full page: the next page is read."""
    pages: dict[int, list[str | OwnedEntry]] = {
        1: [OwnedEntry(f"+1415555010{i}", held=False) for i in range(2)],
        2: ["+14155550109"],
    }

    async def fetch(number: int) -> OwnedPage:
        return OwnedPage(numbers=pages[number])

    walked = [entry async for entry in walk_owned_numbered(fetch, 2, provider_id="p", max_pages=5)]

    assert [*pages[1], *pages[2]] == walked


@pytest.mark.anyio
async def test_a_page_field_that_cannot_be_read_means_the_list_cannot_be_read() -> None:
    """A FieldError while reading an owned page (a typed reader on its envelope) is a ProviderResponseError."""

    async def numbered(number: int) -> OwnedPage:
        wire.count({"total": -5}, "total")
        raise AssertionError("unreachable")

    async def tokens(token: str | None) -> OwnedPage:
        raise FieldError("expected an array", field="items")

    with pytest.raises(ProviderResponseError, match="owned numbers page 1: total: expected a whole number from 0"):
        [entry async for entry in walk_owned_numbered(numbered, 10, provider_id="p", max_pages=5)]
    with pytest.raises(ProviderResponseError, match="owned numbers page 1: items: expected an array"):
        [entry async for entry in walk_owned_tokens(tokens, provider_id="p", max_pages=5)]
