"""The registry: built-ins by id, plug-ins by entry point, run-time registration."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint
from typing import Any

import pytest

import numbroker._registry as registry
from numbroker import (
    ConfigurationError,
    UnknownProviderError,
    get_provider_class,
    provider_ids,
    providers_from_env,
    register_provider,
)
from numbroker.testing import FakeProvider


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts from an empty run-time registry and re-reads entry points."""
    monkeypatch.setattr(registry, "_registered", {})
    monkeypatch.setattr(registry, "_loaded", {})
    monkeypatch.setattr(registry, "_entry_points_read", False)
    yield


def fake_entry_points(*points: tuple[str, str]) -> Any:
    def entry_points(group: str) -> list[EntryPoint]:
        assert registry.ENTRY_POINT_GROUP == group
        return [EntryPoint(name=name, value=value, group=group) for name, value in points]

    return entry_points


def test_builtins_resolve_to_their_ids() -> None:
    """Every built-in id imports a Provider whose id matches the key."""
    for pid in registry.BUILTIN_PROVIDERS:
        assert pid == get_provider_class(pid).id


def test_unknown_id_lists_known_ids() -> None:
    """An unknown id raises UnknownProviderError naming the valid choices."""
    with pytest.raises(UnknownProviderError, match="vobiz, bird, identitycall, telnyx, twilio"):
        get_provider_class("nope")


def test_entry_point_plugins_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party provider published under numbroker.providers is discovered lazily."""
    monkeypatch.setattr(registry, "entry_points", fake_entry_points(("fake", "numbroker.testing:FakeProvider")))

    assert FakeProvider is get_provider_class("fake")
    assert "fake" in provider_ids()


def test_builtins_win_over_colliding_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry point claiming a built-in id is skipped with a warning; the built-in stays."""
    monkeypatch.setattr(registry, "entry_points", fake_entry_points(("vobiz", "numbroker.testing:FakeProvider")))

    with pytest.warns(RuntimeWarning, match="already taken"):
        ids = provider_ids()

    assert ["vobiz", "bird", "identitycall", "telnyx", "twilio", "vonage", "plivo"] == ids
    assert "vobiz" == get_provider_class("vobiz").id


def test_register_provider_refuses_duplicates_and_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run-time registration refuses taken ids unless replace=True, and never replaces a built-in."""
    monkeypatch.setattr(registry, "entry_points", fake_entry_points())
    register_provider("fake", FakeProvider)
    with pytest.raises(ConfigurationError, match="already registered"):
        register_provider("fake", FakeProvider)
    register_provider("fake", FakeProvider, replace=True)
    with pytest.raises(ConfigurationError, match="built-in"):
        register_provider("bird", FakeProvider)


def test_class_id_must_match_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A class whose id differs from its registry key is refused, naming where it came from."""
    monkeypatch.setattr(registry, "entry_points", fake_entry_points(("other", "numbroker.testing:FakeProvider")))

    with pytest.raises(ConfigurationError, match="does not match"):
        get_provider_class("other")


def test_providers_from_env_skips_unconfigured() -> None:
    """Providers without credentials are skipped and say which variables they miss, never values."""
    env = {"IDENTITYCALL_API_KEY": "idc_" + "a" * 32}

    built, skipped = providers_from_env(env=env)

    assert ["identitycall"] == [p.id for p in built]
    assert {
        "vobiz": ["VOBIZ_AUTH_ID", "VOBIZ_AUTH_TOKEN"],
        "bird": ["BIRD_ACCESS_KEY", "BIRD_ORGANIZATION_ID"],
        "telnyx": ["TELNYX_API_KEY"],
        "twilio": ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"],
        "vonage": ["VONAGE_API_KEY", "VONAGE_API_SECRET"],
        "plivo": ["PLIVO_AUTH_ID", "PLIVO_AUTH_TOKEN"],
    } == skipped
