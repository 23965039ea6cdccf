"""The provider registry: built-ins by id (lazy dotted paths), plug-ins by entry point, run-time additions.

Third parties publish ``[project.entry-points."numbroker.providers"] myid = "pkg.mod:MyProvider"``.
Built-ins win on conflict: a colliding entry point is skipped with a warning.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

from numbroker._exceptions import ConfigurationError, MissingCredentialsError, UnknownProviderError
from numbroker.adapters import Provider

__all__ = [
    "BUILTIN_PROVIDERS",
    "ENTRY_POINT_GROUP",
    "available_providers",
    "get_provider_class",
    "providers_from_env",
    "register_provider",
]

ENTRY_POINT_GROUP = "numbroker.providers"

BUILTIN_PROVIDERS: Mapping[str, str] = {
    "vobiz": "numbroker_providers.vobiz:VobizProvider",
    "bird": "numbroker_providers.bird:BirdProvider",
    "identitycall": "numbroker_providers.identitycall:IdentityCallProvider",
    "telnyx": "numbroker_providers.telnyx:TelnyxProvider",
    "twilio": "numbroker_providers.twilio:TwilioProvider",
    "vonage": "numbroker_providers.vonage:VonageProvider",
    "plivo": "numbroker_providers.plivo:PlivoProvider",
}
"""Built-in provider ids and the dotted paths of their classes (imported on first use)."""

_registered: dict[str, type[Provider] | str] = {}
_loaded: dict[str, type[Provider]] = {}
_entry_points_read = False


def _import(path: str, provider_id: str, origin: str) -> type[Provider]:
    module_name, _, attr = path.partition(":")
    try:
        obj: Any = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"provider {provider_id!r} from {origin}: cannot import {path!r}: {exc}") from exc
    return _check(obj, provider_id, origin)


def _check(obj: Any, provider_id: str, origin: str) -> type[Provider]:
    if not (isinstance(obj, type) and issubclass(obj, Provider)):
        raise ConfigurationError(f"provider {provider_id!r} from {origin} is not a numbroker.Provider subclass")
    if getattr(obj, "id", None) != provider_id:
        raise ConfigurationError(
            f"provider {provider_id!r} from {origin}: class id {getattr(obj, 'id', None)!r} does not match"
        )
    return obj


def _read_entry_points() -> None:
    global _entry_points_read
    if _entry_points_read:
        return
    _entry_points_read = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        origin = f"entry point {ep.value!r} ({ep.dist.name if ep.dist else 'unknown distribution'})"
        if ep.name in BUILTIN_PROVIDERS or ep.name in _registered:
            warnings.warn(
                f"numbroker: {origin} wants the id {ep.name!r}, which is already taken; skipped",
                RuntimeWarning,
                stacklevel=3,
            )
            continue
        _registered[ep.name] = ep.value


def register_provider(provider_id: str, cls_or_path: type[Provider] | str, *, replace: bool = False) -> None:
    """Register a provider class (or its ``"module:Class"`` path) under ``provider_id`` at run time.

    Raises:
        ConfigurationError: the id is taken (pass ``replace=True``, not allowed for built-ins) or the class is wrong.
    """
    if provider_id in BUILTIN_PROVIDERS:
        raise ConfigurationError(f"{provider_id!r} is a built-in provider id and cannot be replaced")
    _read_entry_points()
    if provider_id in _registered and not replace:
        raise ConfigurationError(f"provider id {provider_id!r} is already registered (pass replace=True)")
    if isinstance(cls_or_path, type):
        _check(cls_or_path, provider_id, "register_provider()")
    _registered[provider_id] = cls_or_path
    _loaded.pop(provider_id, None)


def get_provider_class(provider_id: str) -> type[Provider]:
    """Return the provider class for ``provider_id``.

    Raises:
        UnknownProviderError: the id is not registered (the message lists the known ids).
    """
    if provider_id in _loaded:
        return _loaded[provider_id]
    if provider_id in BUILTIN_PROVIDERS:
        cls = _import(BUILTIN_PROVIDERS[provider_id], provider_id, "the built-in table")
    else:
        _read_entry_points()
        target = _registered.get(provider_id)
        if target is None:
            known = ", ".join(provider_ids())
            raise UnknownProviderError(f"unknown provider {provider_id!r}; known providers: {known}")
        cls = target if isinstance(target, type) else _import(target, provider_id, "the registry")
    _loaded[provider_id] = cls
    return cls


def provider_ids() -> list[str]:
    """Every known provider id: built-ins first, then plug-ins in registration order."""
    _read_entry_points()
    return [*BUILTIN_PROVIDERS, *(i for i in _registered if i not in BUILTIN_PROVIDERS)]


def available_providers() -> dict[str, type[Provider]]:
    """Every known provider class by id (imports them)."""
    return {pid: get_provider_class(pid) for pid in provider_ids()}


def providers_from_env(
    ids: Iterable[str] | None = None, *, env: Mapping[str, str] | None = None, **options: Any
) -> tuple[list[Provider], dict[str, list[str]]]:
    """Build every provider whose credentials are set.

    Args:
        ids: provider ids to consider (default: every known provider).
        env: where to read variables (default ``os.environ``).
        **options: passed to each constructor (``timeout=``, ``retry=``, ``http_client=``...).

    Returns:
        The providers built, and for each skipped id the environment variables it is missing.
    """
    built: list[Provider] = []
    skipped: dict[str, list[str]] = {}
    for pid in ids if ids is not None else provider_ids():
        cls = get_provider_class(pid)
        try:
            built.append(cls(env=env, **options))
        except MissingCredentialsError as exc:
            skipped[pid] = list(exc.missing.values())
    return built, skipped
