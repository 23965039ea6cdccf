"""The search's in-flight limit: a freed slot goes to a walk's next step first, then to waiting requests in order."""

from __future__ import annotations

import itertools
from typing import Any

import anyio
import httpx
import pytest

from numbroker import ConfigurationError, Searcher
from numbroker.adapters._stats import RequestSlots, one_at_a_time

from .vendors import QUERY, NumberedWire, TokenWire, build, numbered_server, numbers, token_server


async def _holding(slots: RequestSlots, name: str, order: list[str], serial: bool, release: anyio.Event) -> None:
    """Take a slot (marked as a walk's next step when ``serial``), note the turn, hold it until ``release``."""
    if serial:
        with one_at_a_time():
            async with slots:
                order.append(name)
                await release.wait()
    else:
        async with slots:
            order.append(name)
            await release.wait()


async def _settle() -> None:
    for _ in range(5):
        await anyio.lowlevel.checkpoint()


@pytest.mark.anyio
async def test_a_walks_next_step_takes_the_next_freed_slot_ahead_of_waiting_requests() -> None:
    slots = RequestSlots(1)
    order: list[str] = []
    done = {name: anyio.Event() for name in ("holder", "page-a", "page-b", "hop")}
    async with anyio.create_task_group() as tg:
        tg.start_soon(_holding, slots, "holder", order, False, done["holder"])
        await _settle()
        tg.start_soon(_holding, slots, "page-a", order, False, done["page-a"])
        await _settle()
        tg.start_soon(_holding, slots, "page-b", order, False, done["page-b"])
        await _settle()
        tg.start_soon(_holding, slots, "hop", order, True, done["hop"])
        await _settle()
        assert order == ["holder"]  # one slot: everyone else waits
        for name in ("holder", "hop", "page-a", "page-b"):
            done[name].set()
            await _settle()
    assert order == ["holder", "hop", "page-a", "page-b"]


@pytest.mark.anyio
async def test_a_free_slot_is_taken_at_once_and_the_limit_holds() -> None:
    slots = RequestSlots(2)
    order: list[str] = []
    release = anyio.Event()
    async with anyio.create_task_group() as tg:
        for name in ("a", "b", "c"):
            tg.start_soon(_holding, slots, name, order, name == "c", release)
            await _settle()
        assert order == ["a", "b"]
        release.set()
    assert order == ["a", "b", "c"]


@pytest.mark.anyio
async def test_a_cancelled_wait_loses_no_slot() -> None:
    """A waiter cancelled while queued leaves the queue, and one cancelled as its slot is handed over loses nothing.

    (asyncio and trio both let the wake-up win that race: the waiter runs, then leaves through the slot's exit.)
    """
    slots = RequestSlots(1)
    order: list[str] = []
    with anyio.fail_after(5):  # a lost slot would leave the next waiter waiting for ever
        await _cancelled_waits(slots, order)
    assert order[-1] == "next"  # the slot reached the next waiter, whichever way the cancellation landed
    with anyio.fail_after(1):
        async with slots:  # and came back
            pass


async def _cancelled_waits(slots: RequestSlots, order: list[str]) -> None:
    await slots.__aenter__()  # this task holds the only slot
    with anyio.CancelScope() as queued:
        queued.cancel()
        async with slots:
            order.append("never")
    assert order == []

    handed = anyio.CancelScope()

    async def first_waiter() -> None:
        with handed:
            async with slots:
                order.append("handed")
                await anyio.sleep_forever()

    free = anyio.Event()
    free.set()
    async with anyio.create_task_group() as tg:
        tg.start_soon(first_waiter)
        await _settle()
        tg.start_soon(_holding, slots, "next", order, False, free)
        await _settle()
        await slots.__aexit__(None, None, None)  # the slot goes to the first waiter ...
        handed.cancel()  # ... cancelled before it has run


@pytest.mark.anyio
async def test_a_token_chain_is_not_held_behind_queued_page_requests() -> None:
    """With one request in flight for the whole search, each of the chain's hops goes as soon as a slot frees."""
    sent: list[str] = []

    def logged(name: str, handler: Any) -> Any:
        async def answer(request: httpx.Request) -> httpx.Response:
            sent.append(name)
            await anyio.sleep(0.002)
            response: httpx.Response = handler(request)
            return response

        return answer

    chain = build(TokenWire, logged("chain", token_server(numbers(40), per_page=10)))

    class Paged(NumberedWire):
        id = "paged"
        page_concurrency = 8

    paged = build(Paged, logged("page", numbered_server(numbers(120), per_page=10)))
    async with Searcher([paged, chain], max_concurrency=1) as searcher:
        result = await searcher.search(QUERY)

    assert result.status.value == "complete"
    assert len(result.offers) == 160
    hops = [i for i, name in enumerate(sent) if name == "chain"]
    assert len(hops) == 4
    # After its first page, every hop left within two requests of the one before it (the request in flight
    # when its answer came, and at most one that took the slot while its page was read), not behind the
    # numbered pages queued meanwhile.
    assert all(later - earlier <= 3 for earlier, later in itertools.pairwise(hops)), sent


@pytest.mark.parametrize("slots", [0, -1, 1.5, True, "2"])
def test_a_limit_that_lets_nothing_through_is_refused(slots: object) -> None:
    with pytest.raises(ConfigurationError, match="slots must be a whole number from 1 or more"):
        RequestSlots(slots)  # type: ignore[arg-type]
