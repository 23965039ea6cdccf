"""The owned-list part of the provider contract, as a pytest test class to subclass.

Every adapter that lists the account's numbers (``Provider.lists_owned()``) passes it, served by its own
sandbox in-process::

    from numbroker.testing.contract_owned import OwnedListContract

    class TestAcmeOwnedList(OwnedListContract):
        provider_id = "acme"

The sandbox's factory takes ``owned=N`` (the numbers the account holds before anything is bought) and
keeps the seeded inventory in ``sandbox.options["owned"]`` (a list or a mapping: its length is what
counts). The suite checks that the adapter declares what it can do after purchase; pages its list to the
end (several pages); answers an empty list with no numbers, no rejections and no truncation; turns a
record whose number it cannot read into a rejected record naming the vendor's field and a reason, while
the other numbers still arrive; maps every status into the normalized vocabulary, keeping the vendor's own
word and mapping each word the same way every time (a release scheduled elsewhere in the record aside);
states a price or a renewal only with its source (``vendor`` only where the declaration says the list
states them); maps an error answer into numbroker's error tree; and never shows a credential the vendor
echoes, in data or in an error.
Async tests run on asyncio and, when installed, trio. This module imports pytest.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import pytest

from numbroker._exceptions import AuthenticationError, ProviderError, ProviderResponseError
from numbroker._models import RejectedRecord
from numbroker._owned import OwnedNumber, OwnedStatus, PriceSource, ReleaseMode, RenewalSource
from numbroker._phone import parse_e164
from numbroker.adapters import Provider, ProviderStats, RetryPolicy
from numbroker.testing.hostile import Defects, HostileVendor, credentials_sent, find_records

if TYPE_CHECKING:
    from numbroker.sandbox import Sandbox

__all__ = ["OwnedListContract"]

_BACKENDS = ["asyncio", *(["trio"] if importlib.util.find_spec("trio") else [])]
_NO_RETRY = RetryPolicy(attempts=1)
UNREADABLE = "not a phone number"
"""What the rejection test writes in one record's number field."""


class OwnedListContract:
    """Subclass me (name the subclass ``Test…``) and set ``provider_id``; see the module docstring."""

    provider_id: ClassVar[str]
    provider_class: ClassVar[type[Provider]]
    seed: ClassVar[int] = 0
    """The sandbox's inventory seed."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "provider_id" in cls.__dict__ and "provider_class" not in cls.__dict__:
            from numbroker._registry import get_provider_class

            cls.provider_class = get_provider_class(cls.provider_id)

    # -- helpers -----------------------------------------------------------------------------------

    def sandbox(self, owned: int) -> Sandbox:
        """The provider's sandbox, its account holding ``owned`` numbers."""
        from numbroker.sandbox import create_sandboxes

        return create_sandboxes([self.provider_id], seed=self.seed, owned=owned)[self.provider_id]

    def make(self, sandbox: Sandbox, app: Any = None) -> Provider:
        """The provider under test, talking to ``app`` (default: the sandbox's own) in-process."""
        transport = httpx.ASGITransport(app=sandbox.app if app is None else app)
        return self.provider_class(
            env=dict(sandbox.env), base_url="http://127.0.0.1" + sandbox.base_path, transport=transport, retry=_NO_RETRY
        )

    async def listed(
        self, sandbox: Sandbox, app: Any = None
    ) -> tuple[list[OwnedNumber], list[RejectedRecord], ProviderStats]:
        """Everything the provider lists from ``sandbox`` (through ``app`` when given)."""
        async with self.make(sandbox, app) as provider:
            return await provider.list_owned()

    def _owned_field(self, name: str) -> str:
        """The vendor's name for the normalized field ``name`` in an owned-list record."""
        cls = self.provider_class
        return cls.owned_wire_fields.get(name) or cls.wire_fields.get(name, name)

    def several_pages(self) -> int:
        """An inventory size that takes at least three pages of the adapter's own page size."""
        return 2 * self.provider_class.owned_per_page + 3

    @pytest.fixture(params=_BACKENDS)
    def anyio_backend(self, request: pytest.FixtureRequest) -> str:
        """Run each async contract test on every available anyio backend."""
        return str(request.param)

    # -- the contract ------------------------------------------------------------------------------

    def test_declares_what_it_can_do_after_purchase(self) -> None:
        """A lister declares listing, release mode, prices, renewals and its sub-account model."""
        cls = self.provider_class
        declared = cls.after_purchase
        assert cls.lists_owned() and declared is not None and declared.can_list
        assert isinstance(declared.release, ReleaseMode) and declared.sub_accounts.strip()
        assert cls.owned_paging in ("numbered", "token", "none")
        assert cls.owned_per_page >= 1 and cls.owned_max_pages >= 1

    @pytest.mark.anyio
    async def test_pages_to_the_end(self) -> None:
        """Every number of a list several pages long arrives once, of this provider, in canonical E.164."""
        sandbox = self.sandbox(self.several_pages())
        numbers, rejected, stats = await self.listed(sandbox)

        assert (rejected, stats.truncated) == ([], False)
        assert len(numbers) == len(sandbox.options["owned"]) == self.several_pages()
        assert len({(n.provider_number_id, n.e164) for n in numbers}) == len(numbers)
        if self.provider_class.owned_paging != "none":
            assert stats.pages >= 3
        for number in numbers:
            assert number.provider == self.provider_id
            assert number.e164 == parse_e164(number.e164, country=number.country, strictness="possible").e164

    @pytest.mark.anyio
    async def test_an_empty_list_is_empty_and_whole(self) -> None:
        """No numbers: nothing listed, nothing rejected, nothing cut short."""
        numbers, rejected, stats = await self.listed(self.sandbox(0))

        assert (numbers, rejected, stats.truncated) == ([], [], False)

    @pytest.mark.anyio
    async def test_a_record_it_cannot_read_is_rejected_naming_field_and_reason(self) -> None:
        """One record's number made unreadable: that record is rejected (its vendor field named), the rest listed."""
        field = self._owned_field("e164")
        spoiled: list[Any] = []

        def spoil(body: Any, sent: Mapping[str, str]) -> None:
            records = find_records(body)
            if not spoiled and records and field in records[0]:
                spoiled.append(records[0][field])
                records[0][field] = UNREADABLE

        sandbox = self.sandbox(12)
        numbers, rejected, stats = await self.listed(sandbox, HostileVendor(sandbox.app, Defects(rewrite=spoil)))

        assert spoiled, f"no record had the number field {field!r}"
        assert len(numbers) == len(sandbox.options["owned"]) - 1 and not stats.truncated
        (record,) = rejected
        assert (record.provider, record.field) == (self.provider_id, field)
        assert record.reason.strip()

    @pytest.mark.anyio
    async def test_statuses_map_to_the_normalized_vocabulary_keeping_the_vendors_word(self) -> None:
        """Each status is one of the normalized five; a vendor word always maps the same way.

        The one exception: a release another field schedules (Bird's cancelled subscription on an
        ``active`` number, billed until its paid period ends) makes the number ``pending_release``
        whatever its word.
        """
        numbers, _, _ = await self.listed(self.sandbox(40))

        mapping: dict[str | None, set[OwnedStatus]] = {}
        for number in numbers:
            assert isinstance(number.status, OwnedStatus)
            mapping.setdefault(number.vendor_status, set()).add(number.status)
        scheduled = {OwnedStatus.PENDING_RELEASE}
        assert all(len(statuses - scheduled) <= 1 for word, statuses in mapping.items() if word is not None), mapping
        assert OwnedStatus.ACTIVE in {n.status for n in numbers}

    @pytest.mark.anyio
    async def test_prices_and_renewals_only_with_a_source(self) -> None:
        """A price or renewal comes with where it came from; ``vendor`` only where the list is declared to state it."""
        numbers, _, _ = await self.listed(self.sandbox(40))
        declared = self.provider_class.after_purchase
        assert declared is not None

        for number in numbers:
            assert (number.monthly_price is None) == (number.price_source is None)
            assert (number.next_renewal is None) == (number.renewal_source is None)
            if number.monthly_price is not None:
                amount = number.monthly_price.amount
                assert isinstance(amount, Decimal) and amount.is_finite() and amount >= 0
            if number.price_source is PriceSource.VENDOR:
                assert declared.states_prices
            if number.renewal_source is RenewalSource.VENDOR:
                assert declared.states_renewals
        if declared.states_prices:
            assert any(n.price_source is PriceSource.VENDOR for n in numbers)

    @pytest.mark.anyio
    async def test_an_error_answer_maps_into_the_tree(self) -> None:
        """A refused credential is an AuthenticationError; a garbage body a ProviderResponseError."""
        sandbox = self.sandbox(3)
        refused = HostileVendor(sandbox.app, Defects(echo_status=401, escapings=("raw",)))
        async with self.make(sandbox, refused) as provider:
            with pytest.raises(AuthenticationError) as info:
                await provider.list_owned()
        assert info.value.provider == self.provider_id

        async def garbage(scope: Any, receive: Any, send: Any) -> None:
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"<html>maintenance</html>"})

        async with self.make(sandbox, garbage) as provider:
            with pytest.raises(ProviderResponseError):
                await provider.list_owned()

    @pytest.mark.anyio
    async def test_never_shows_an_echoed_credential(self) -> None:
        """Credentials echoed in every text field a number keeps, or in an error, reach no output.

        A clean read first finds the vendor's text the adapter keeps (its status word, sub-account, details);
        every record field holding such text then comes with the credentials appended.
        """
        sandbox = self.sandbox(12)
        field = self._owned_field("e164")
        async with self.make(sandbox) as probe:
            secrets = _secrets(sandbox, probe._auth_headers())
        clean, _, _ = await self.listed(sandbox)
        kept = {text for number in clean for text in _kept_texts(number)}
        echo = " ".join(secrets)

        def leak(body: Any, sent: Mapping[str, str]) -> None:
            for record in find_records(body) or ():
                if field not in record:
                    continue  # not an owned number's record (Twilio's list of subaccounts, say)
                for key, value in list(record.items()):
                    if key != field and isinstance(value, str) and value in kept:
                        record[key] = f"{value} {echo}"

        numbers, rejected, stats = await self.listed(sandbox, HostileVendor(sandbox.app, Defects(rewrite=leak)))

        assert kept, "no number keeps any of the vendor's text"
        assert len(numbers) + len(rejected) == len(sandbox.options["owned"]) and numbers
        shown = json.dumps([n.model_dump(mode="json") for n in numbers])
        assert "***" in shown
        shown += json.dumps([r.model_dump(mode="json") for r in rejected]) + " ".join(stats.report_notes())
        assert all(secret not in shown for secret in secrets)

        refused = HostileVendor(sandbox.app, Defects(echo_status=403), secrets=secrets)
        async with self.make(sandbox, refused) as provider:
            with pytest.raises(ProviderError) as info:
                await provider.list_owned()
        text = f"{info.value} {info.value!r} {getattr(info.value, 'body', '')}"
        assert all(secret not in text for secret in secrets)


def _kept_texts(number: OwnedNumber) -> list[str]:
    """The vendor's text an owned number keeps: its status word, sub-account, account and string details."""
    texts = [number.vendor_status, number.sub_account, number.account]
    texts += [v for v in number.provider_details.values() if isinstance(v, str)]
    return [t for t in texts if t is not None and len(t) >= 2]


def _secrets(sandbox: Sandbox, headers: Mapping[str, str]) -> list[str]:
    """The credential values, and the forms the client sends them in, that no output may show."""
    sent = credentials_sent(list(headers.items()))
    return sorted({s for s in [*sandbox.env.values(), *sent] if len(s) >= 6})
