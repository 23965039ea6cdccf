"""Telnyx number orders: an order is placed, then read again until its number settles.

``POST /number_orders`` answers ``{data: {id, status, phone_numbers: [{phone_number, status}]}}``; an
order is asynchronous: the number's status (else the order's) is ``pending``, ``success`` or ``failure``
(``types/number_order_with_phone_numbers.py``), and ``GET /number_orders/{id}`` reads it again. Once the
order is placed its outcome is never guessed: an order still pending at the deadline, or whose status
cannot be read, is ambiguous, and the caller confirms ownership.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import httpx

from numbroker import ProviderError, ProviderResponseError, ProviderTimeoutError
from numbroker.adapters import Connection, same_number, wire

__all__ = ["follow", "order_data", "status_of"]


def order_data(connection: Connection, response: httpx.Response, e164: str) -> Mapping[str, Any]:
    """The ``data`` object of an order answer; when it lists numbers, one of them must be ``e164``."""
    data = wire.pick(connection.json(response), "data", dict)
    if data is None:
        raise ProviderResponseError(
            connection.provider_id, f"the number order for {e164} answered without a data object"
        )
    numbers = wire.pick(data, "phone_numbers", list)
    if numbers and not any(same_number(wire.pick(n, "phone_number", str), e164) for n in numbers):
        others = [n.get("phone_number") for n in numbers if isinstance(n, dict)][:3]
        raise ProviderResponseError(
            connection.provider_id,
            f"the number order for {e164} answered with other numbers {others!r}; ownership unknown",
        )
    return data


def status_of(order: Mapping[str, Any], e164: str) -> Any:
    """The status of ``e164`` in the order: its own entry's, else the order's."""
    for entry in wire.pick(order, "phone_numbers", list) or []:
        if same_number(wire.pick(entry, "phone_number", str), e164):
            status = entry.get("status")
            if status is not None:
                return status
    return order.get("status")


async def follow(
    connection: Connection, order_id: str, e164: str, *, within: float, poll_interval: float
) -> tuple[Mapping[str, Any], Any]:
    """Read a pending order again, every ``poll_interval`` seconds, until its number settles or ``within`` seconds pass.

    Raises:
        ProviderTimeoutError: still pending after ``within`` seconds (it may still complete).
        ProviderResponseError: the order's status cannot be read (whatever the read says, even a 404).
    """
    provider = connection.provider_id
    deadline = anyio.current_time() + within
    url = connection.url("number_orders", order_id)
    reads = 0
    while True:
        left = deadline - anyio.current_time()
        if left <= 0:
            raise ProviderTimeoutError(
                provider,
                f"the number order {order_id} for {e164} was still pending after {within:g}s "
                f"({reads} reads): it may still complete; confirm ownership before buying again",
            )
        await anyio.sleep(min(poll_interval, left))
        try:
            order = order_data(connection, await connection.get(url), e164)
        except ProviderError as exc:
            raise ProviderResponseError(
                provider,
                f"the number order {order_id} for {e164} was placed but its status cannot be read: {exc.detail}",
            ) from None
        reads += 1
        status = status_of(order, e164)
        if status != "pending":
            return order, status
