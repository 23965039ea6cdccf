"""What a vendor handler is given for one request (:class:`RequestContext`), its signature, and request readers."""

from __future__ import annotations

import base64
import binascii
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
        self.refuse_release = False
        """Whether the ``rate_release_refused`` draw says this release is refused (the handler answers so)."""
        self.committed: list[int] = []
        self.changed = False
        self.released: list[int] = []
        """Whether the request changed a number the account owns (a release committed, say)."""
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

    def claim(self, record: SandboxRecord | None) -> SandboxRecord | None:
        """The record this purchase may take, or None when the vendor must answer that it is gone.

        None when there is no such record, when it is no longer in the inventory (ours, or taken), or
        when the ``rate_race`` draw handed it to someone else (:meth:`lose_race`, drawn only for a
        record still available).

        Args:
            record: The record the purchase asks for (None: the vendor does not know the number).

        Returns:
            ``record``, or None.
        """
        if record is None or not self.sandbox.is_available(record.offer_id) or self.lose_race([record.offer_id]):
            return None
        return record

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

    def commit_release(self, e164: str, state: str) -> None:
        """Record a committed release (``state``: ``released`` or ``pending_release``) of owned ``e164``.

        The owned list keeps showing the number as it was for ``Faults.release_list_lag_seconds`` from now
        (see :meth:`Sandbox.release_lagging`).
        """
        sandbox = self.sandbox
        sandbox.unlisted_from[e164] = time.monotonic() + sandbox.faults.release_list_lag_seconds
        sandbox.releases.append({"e164": e164, "state": state, "fault": None})
        self.released.append(len(sandbox.releases) - 1)
        self.changed = True


Handler = Callable[[Request, RequestContext], Awaitable[Reply]]
"""``async (request, context) -> Reply``: a vendor endpoint, wrapped by :meth:`Sandbox.route`."""


def basic_auth(request: Request) -> tuple[str, str, str]:
    """The ``Authorization`` header's scheme, and its credentials read as HTTP Basic ``user:password``.

    The credentials are read whatever the scheme (the caller checks it); user and password are empty
    when they are not base64 of UTF-8 text.

    Returns:
        ``(scheme, user, password)``.
    """
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user = password = ""
    return scheme, user, password
