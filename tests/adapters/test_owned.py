"""The account's own numbers: a per-number answer first, else the whole list, read completely."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import httpx
import pytest

from numbroker import (
    ConfigurationError,
    ProviderResponseError,
)

from .vendors import (
    Capped,
    build_capped,
)


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
