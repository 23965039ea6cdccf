"""Fuzzing every built-in adapter with hostile values: numbers at and beyond the bounds, echoed credentials.

Records start from each sandbox's own (valid and defective) and get numbers at and beyond any sane bound
in their numeric fields, and the adapter's own credentials echoed in every escaped form in their text
fields (see :func:`numbroker.testing.fuzz.hostile_records`). Whole pages go through the real adapter over
``httpx.MockTransport``: whatever comes back (offers, rejected records, statistics, or the error) shows no
credential in any form, and every record is accounted for. Single records go through ``normalize_record``:
a sound offer, or a rejection naming a field (which numbers each adapter must reject is pinned where the
bounds are defined).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numbroker import NumberType, ProviderError, SearchQuery
from numbroker.adapters import Provider
from numbroker.sandbox import create_sandboxes
from numbroker.testing.fuzz import check_no_secret, check_record, hostile_records, mangled_body, replaying
from numbroker_providers.bird import BirdProvider
from numbroker_providers.identitycall import IdentityCallProvider
from numbroker_providers.plivo import PlivoProvider
from numbroker_providers.telnyx import TelnyxProvider
from numbroker_providers.vobiz import VobizProvider
from numbroker_providers.vonage import VonageProvider

CREDENTIALS: dict[str, dict[str, str]] = {
    "vobiz": {"auth_id": "MA_FUZZ_CANARY", "auth_token": "canary/vobiz+token"},
    "bird": {"access_key": "canary/bird+key=", "organization_id": "org-fuzz-canary"},
    "identitycall": {"api_key": 'idc_canary/"key"'},
    "plivo": {"auth_id": "MAFUZZCANARY01", "auth_token": "canary/plivo token"},
    "telnyx": {"api_key": "KEY" + "C4N4RYF022" * 3 + "AB_canary/telnyx+key"},
    "vonage": {"api_key": "c4n4ry5e", "api_secret": "canary/vonage secret"},
}
CLASSES: dict[str, type[Provider]] = {
    "vobiz": VobizProvider,
    "bird": BirdProvider,
    "identitycall": IdentityCallProvider,
    "plivo": PlivoProvider,
    "telnyx": TelnyxProvider,
    "vonage": VonageProvider,
}
BASE_URLS = {
    "vobiz": "https://api.vobiz.example/api",
    "bird": "https://api.bird.example",
    "identitycall": "https://api.identitycall.example/api/v1/public",
    "plivo": "https://api.plivo.example/v1",
    "telnyx": "https://api.telnyx.example/v2",
    "vonage": "https://rest.vonage.example",
}
ENVELOPES: dict[str, tuple[str, Callable[[list[Any]], dict[str, Any]]]] = {
    "vobiz": ("items", lambda r: {"items": r, "page": 1, "per_page": 100, "total": len(r)}),
    "bird": ("results", lambda r: {"results": r, "nextPageToken": ""}),
    "identitycall": ("data", lambda r: {"data": r}),
    "plivo": (
        "objects",
        lambda r: {"api_id": "fuzz", "meta": {"limit": 20, "offset": 0, "total_count": len(r)}, "objects": r},
    ),
    "telnyx": ("data", lambda r: {"data": r, "metadata": {"total_results": len(r)}}),
    "vonage": ("numbers", lambda r: {"count": len(r), "numbers": r}),
}
SANDBOXES = create_sandboxes(list(CLASSES), seed=3, size=40)
BASE = {pid: [record.raw for record in sandbox.records] for pid, sandbox in SANDBOXES.items()}
COUNTRIES = {pid: sorted({record.country for record in sandbox.records}) for pid, sandbox in SANDBOXES.items()}
ROOTS = {pid: sorted({key for raw in BASE[pid] for key in raw}) for pid in CLASSES}
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def secrets(pid: str) -> list[str]:
    """Every credential of ``pid``'s canary provider (and Plivo's and Vonage's Basic-auth pair, as its base64)."""
    import base64

    values = list(CREDENTIALS[pid].values())
    if pid in ("plivo", "vonage"):
        pair = ":".join(values)
        values.append(base64.b64encode(pair.encode()).decode().rstrip("="))
    return values


def adapter(pid: str, body: bytes, seen: list[httpx.Request] | None = None) -> Provider:
    return replaying(CLASSES[pid], body, seen, base_url=BASE_URLS[pid], **CREDENTIALS[pid])


@st.composite
def pages(draw: st.DrawFn, pid: str) -> tuple[bytes, int]:
    """A page of hostile records in ``pid``'s envelope, with the credentials echoed in the envelope too."""
    from numbroker.testing.fuzz import raw_json
    from numbroker.testing.hostile import ESCAPINGS, escaped_forms

    items = draw(st.lists(hostile_records(BASE[pid], secrets=secrets(pid), in_body=True), min_size=1, max_size=8))
    _, envelope = ENVELOPES[pid]
    body = envelope(items)
    secret, escaping = draw(st.sampled_from(secrets(pid))), draw(st.sampled_from(ESCAPINGS))
    form = escaped_forms(secret)[escaping]
    body["message"] = raw_json("echo " + (form if escaping.startswith("json") else json.dumps(form)[1:-1]), string=True)
    return mangled_body(draw, body, ()), len(items)


def search(provider: Provider, query: SearchQuery) -> Any:
    async def run() -> Any:
        async with provider:
            try:
                return await provider.search(query)
            except ProviderError as exc:
                return exc

    return anyio.run(run)


@pytest.mark.parametrize("pid", list(CLASSES))
def test_hostile_pages_show_no_credential_in_any_form(pid: str) -> None:
    """Offers, rejected records, statistics or the error of a hostile page show no credential in any form."""

    @FUZZ
    @given(page=pages(pid), data=st.data())
    def check(page: tuple[bytes, int], data: st.DataObject) -> None:
        body, count = page
        country = data.draw(st.sampled_from(COUNTRIES[pid]))
        query = SearchQuery(country=country, number_type=NumberType.LOCAL if pid == "identitycall" else None)
        seen: list[httpx.Request] = []
        outcome = search(adapter(pid, body, seen), query)

        check_no_secret(outcome, secrets(pid))
        if not isinstance(outcome, ProviderError):
            stats = outcome.stats
            accounted = stats.offers + stats.rejected + stats.duplicates + sum(stats.excluded.values())
            assert count * len(seen) == accounted

    check()


@pytest.mark.parametrize("pid", list(CLASSES))
def test_numbers_at_and_beyond_the_bounds_give_an_offer_or_a_rejection(pid: str) -> None:
    """A record with numbers at or beyond the bounds in any numeric field is a sound offer or a rejection
    naming a field the vendor sent; it never raises and never reaches the base class's safety net.
    """

    @FUZZ
    @given(record=hostile_records(BASE[pid]), data=st.data())
    def check(record: Any, data: st.DataObject) -> None:
        query = SearchQuery(country=data.draw(st.sampled_from(COUNTRIES[pid])))
        check_record(adapter(pid, b""), record, query, ROOTS[pid])

    check()
