"""Sandboxes wired to the real adapters: build each provider's sandbox, point its adapter at it.

Every built-in provider ships a sandbox (its class attribute ``sandbox`` names the factory). The
adapters talk to it in-process (``httpx.ASGITransport``: no sockets, used by
``numbroker search --sandbox``) or over real loopback HTTP (:func:`~numbroker.sandbox.serve_sandboxes`).
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from numbroker._registry import get_provider_class, provider_ids
from numbroker.adapters import Provider
from numbroker.sandbox._app import Sandbox
from numbroker.sandbox._faults import Faults, load_faults

FAULTS_ENV = "NUMBROKER_SANDBOX_FAULTS"
"""Environment variable with fault knobs as JSON (:func:`~numbroker.sandbox.load_faults`), read by
:func:`create_sandboxes` when no ``faults`` are given: ``NUMBROKER_SANDBOX_FAULTS='{"hold_purchase_seconds":
30}' numbroker sandbox serve`` serves sandboxes that hold every purchase 30 s."""

IN_PROCESS_ORIGIN = "http://127.0.0.1"
"""Origin given to adapters talking to an in-process sandbox (the transport ignores it; it is loopback)."""


def sandboxed_ids(ids: Iterable[str] | None = None) -> list[str]:
    """The ids (of ``ids``, default every known provider) whose provider ships a sandbox."""
    return [pid for pid in (ids if ids is not None else provider_ids()) if get_provider_class(pid).sandbox]


def create_sandboxes(
    ids: Iterable[str] | None = None,
    *,
    seed: int = 0,
    faults: Faults | Mapping[str, Faults] | None = None,
    size: int | Mapping[str, int] | None = None,
    **options: Any,
) -> dict[str, Sandbox]:
    """Build a sandbox per provider id (default: every provider that has one).

    Args:
        ids: provider ids.
        seed: inventory seed (the same seed gives the same offers).
        faults: one :class:`Faults` for all, or per provider id; default: the knobs in the
            ``NUMBROKER_SANDBOX_FAULTS`` environment variable (:data:`FAULTS_ENV`), else none.
        size: inventory size for all, or per provider id (default: each sandbox's own).
        **options: vendor-specific sandbox options, passed to every factory that accepts them.

    Raises:
        ValueError: ``NUMBROKER_SANDBOX_FAULTS`` is not valid fault-knob JSON for these providers.
    """
    out: dict[str, Sandbox] = {}
    chosen = sandboxed_ids(ids)
    if faults is None and (text := os.environ.get(FAULTS_ENV, "").strip()):
        try:
            faults = load_faults(text, chosen)
        except ValueError as exc:
            raise ValueError(f"{FAULTS_ENV}: {exc}") from None
    for pid in chosen:
        path = get_provider_class(pid).sandbox
        assert path is not None
        module, _, attr = path.partition(":")
        factory = getattr(importlib.import_module(module), attr)
        its_faults = faults.get(pid) if isinstance(faults, Mapping) else faults
        its_size = size.get(pid) if isinstance(size, Mapping) else size
        accepted = inspect.signature(factory).parameters
        its_options = {k: v for k, v in options.items() if k in accepted}
        out[pid] = factory(seed=seed, faults=its_faults, size=its_size, **its_options)
    return out


def in_process_providers(sandboxes: Mapping[str, Sandbox], **provider_options: Any) -> list[Provider]:
    """Real adapters talking to ``sandboxes`` in-process (no network). Close them when done."""
    return [
        get_provider_class(pid)(
            env=sandbox.env,
            base_url=IN_PROCESS_ORIGIN + sandbox.base_path,
            transport=httpx.ASGITransport(app=sandbox.app),
            **provider_options,
        )
        for pid, sandbox in sandboxes.items()
    ]


def loopback_providers(
    sandboxes: Mapping[str, Sandbox], urls: Mapping[str, str], **provider_options: Any
) -> list[Provider]:
    """Real adapters talking to sandboxes served on loopback (``urls`` from :func:`serve_sandboxes`)."""
    return [
        get_provider_class(pid)(env=sandbox.env, base_url=urls[pid], **provider_options)
        for pid, sandbox in sandboxes.items()
    ]
