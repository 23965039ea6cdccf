"""The live suite: a read-only search of the real vendor API, run whenever the provider's credentials are set.

Usage, in an adapter's tests::

    from numbroker.testing.live import LiveSuite

    class TestAcmeLive(LiveSuite):
        provider_id = "acme"
        query = SearchQuery(country="US", limit=5)

        def check(self, result: SearchResult) -> None:
            assert all(ranked.offer.monthly_price is not None for ranked in result.offers)

The test is marked ``live`` (register the marker where ``--strict-markers`` is on): ``pytest -m live`` runs
only these, ``pytest -m "not live"`` leaves them out. The provider's variables (``ACME_…``) are read from the
environment when the subclass is defined, that is when pytest imports the test module, before any fixture
hides provider variables from the tests; without them the test is skipped, naming the variables to set. The
search goes through a :class:`~numbroker.Searcher`, as a user's would, and must be answered (ok or empty,
never an error). Nothing is bought. This module imports pytest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from numbroker._models import SearchQuery
from numbroker._registry import get_provider_class
from numbroker._reports import ProviderStatus, SearchResult
from numbroker._search import Searcher
from numbroker.adapters import Provider

__all__ = ["LiveSuite"]


class LiveSuite:
    """Subclass me (name the subclass ``Test…``), set :attr:`provider_id` and :attr:`query`, add :meth:`check`."""

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.live, pytest.mark.anyio]
    provider_id: ClassVar[str]
    """The provider's registry id."""
    provider_class: ClassVar[type[Provider]]
    """The adapter (set from :attr:`provider_id`)."""
    query: ClassVar[SearchQuery]
    """What the real account searches (a ``limit`` keeps the answer short)."""
    per_provider_limit: ClassVar[int | None] = None
    """Stop fetching after this many offers (see :class:`~numbroker.Searcher`): how many pages are read."""
    timeout: ClassVar[float] = 60
    """The search's deadline in seconds."""
    live_env: ClassVar[Mapping[str, str]] = {}
    """The provider's variables (``<ID>_…``) of the environment the subclass was defined in."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "provider_id" in cls.__dict__:
            cls.provider_class = get_provider_class(cls.provider_id)
            prefix = cls.provider_id.upper() + "_"
            cls.live_env = {name: value for name, value in os.environ.items() if name.startswith(prefix)}

    def check(self, result: SearchResult) -> None:
        """Check what the real vendor answered (its offers' types, currencies, prices, the report's notes)."""

    async def test_a_real_search_answers(self) -> None:
        """A real account answers the search with a report that is ok or empty, never an error."""
        cls = self.provider_class
        if not cls.is_configured(self.live_env):
            pytest.skip(f"live {cls.id} test: set {', '.join(cls.missing_env(self.live_env))} to run it")
        provider = cls(env=self.live_env)
        async with Searcher(
            [provider], timeout=self.timeout, per_provider_limit=self.per_provider_limit, own_providers=True
        ) as searcher:
            result = await searcher.search(self.query)

        (report,) = result.providers
        assert report.status in (ProviderStatus.OK, ProviderStatus.EMPTY), report.error
        self.check(result)
