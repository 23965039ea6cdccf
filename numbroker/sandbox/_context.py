"""What a vendor handler is given for one request (:class:`RequestContext`), and its signature."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Any

from starlette.requests import Request

from numbroker.sandbox._types import RACE, Purchase, Reply, SandboxRecord, SandboxState


class RequestContext:
    """Per-request state handed to a vendor handler.

    Attributes:
        sandbox: The sandbox serving the request.
        request: The Starlette request.
        body: The raw request body (already read).
        loopback: Whether the request came over real loopback HTTP.
    """

    def __init__(self, sandbox: SandboxState, request: Request, body: bytes, *, loopback: bool) -> None:
        self.sandbox = sandbox
        self.request = request
        self.body = body
        self.loopback = loopback
        self.race = False
        self.sell_other = False
        self.committed: list[int] = []
        self.labels: list[str] = []

    def json(self) -> Any:
        """Parse the request body as JSON.

        Returns:
            The parsed JSON value.

        Raises:
            ValueError: The body is not JSON.
        """
        return json.loads(self.body)

    def sold_instead(self, record: SandboxRecord) -> SandboxRecord:
        """Apply the ``sell_other_number`` decision: the record this purchase really sells.

        ``record`` itself, unless the fault was drawn and another available record exists (the first in
        inventory order): then that one, which the handler commits, charges and names in its answer.
        """
        if not self.sell_other:
            return record
        for other in self.sandbox.records:
            if other.e164 != record.e164 and self.sandbox.is_available(other.offer_id):
                self.labels.append("sell_other_number")
                return other
        return record

    def lose_race(self, offer_ids: Iterable[str]) -> bool:
        """Apply the ``rate_race`` decision for this purchase.

        When the race was drawn, the offers are taken by "someone else" (they leave the inventory
        without becoming ours) and the handler must answer with the vendor's "gone" error.

        Args:
            offer_ids: The offers the purchase is about.

        Returns:
            True if the race was lost.
        """
        if not self.race:
            return False
        self.race = False
        for offer_id in offer_ids:
            self.sandbox.taken.add(offer_id)
        self.sandbox.invalidate()
        self.labels.append(RACE)
        return True

    def commit(
        self,
        record: SandboxRecord,
        *,
        upfront: Decimal | None,
        monthly: Decimal | None,
        currency: str | None,
    ) -> Purchase:
        """Record a committed purchase: the number leaves the inventory and becomes ours.

        It shows in the owned list (:meth:`Sandbox.listed`) ``Faults.owned_list_lag_seconds`` from now.

        Args:
            record: The record bought.
            upfront: One-off amount charged.
            monthly: Monthly amount charged.
            currency: Currency of the amounts.

        Returns:
            The purchase.
        """
        purchase = Purchase(record.offer_id, record.e164, upfront, monthly, currency)
        sandbox = self.sandbox
        sandbox.listed_from[record.e164] = time.monotonic() + sandbox.faults.owned_list_lag_seconds
        sandbox.owned[record.e164] = record.offer_id
        sandbox.purchases.append(purchase)
        self.committed.append(len(sandbox.purchases) - 1)
        sandbox.invalidate()
        return purchase


Handler = Callable[[Request, RequestContext], Awaitable[Reply]]
"""``async (request, context) -> Reply``: a vendor endpoint, wrapped by :meth:`Sandbox.route`."""
