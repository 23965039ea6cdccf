"""Where a provider's credentials and settings come from: its arguments, else its environment variables."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from pydantic import SecretStr

from numbroker._exceptions import MissingCredentialsError
from numbroker._redaction import check_credential

__all__ = ["missing_env", "resolve_credentials", "resolve_setting"]


def missing_env(credentials: Mapping[str, str], env: Mapping[str, str]) -> list[str]:
    """The credential variables (of ``credentials``: argument → variable) not set in ``env``. Never values."""
    return [var for var in credentials.values() if not env.get(var)]


def resolve_credentials(
    provider_id: str,
    credentials: Mapping[str, str],
    given: Mapping[str, str | None],
    env: Mapping[str, str],
    *,
    on_secret: Callable[[str], None],
) -> dict[str, SecretStr]:
    """Each credential from its argument or environment variable; ``on_secret`` is told every value found.

    Raises:
        MissingCredentialsError: some are set nowhere (all of them are named, argument and variable).
        ConfigurationError: one is shorter than ``MIN_SECRET_LENGTH`` (it could not be redacted safely, and no
            vendor issues one) or not printable ASCII (no header can carry it): named, never shown.
    """
    resolved: dict[str, SecretStr] = {}
    missing: dict[str, str] = {}
    for kwarg, env_var in credentials.items():
        value = given.get(kwarg) or env.get(env_var)
        if not value:
            missing[kwarg] = env_var
            continue
        check_credential(value, name=f"{provider_id}: credential {kwarg}= (env {env_var})")
        resolved[kwarg] = SecretStr(value)
        on_secret(value)
    if missing:
        raise MissingCredentialsError(provider_id, missing)
    return resolved


def resolve_setting(
    settings: Mapping[str, str], kwarg: str, given: str | None, env: Mapping[str, str], default: str | None
) -> str | None:
    """An optional setting from its argument, then its environment variable (per ``settings``), then ``default``."""
    env_var = settings.get(kwarg)
    return given or (env.get(env_var) if env_var else None) or default


def canonical_base_url(url: str) -> str:
    """``url`` as one account's endpoint is named in an account key.

    Scheme and host lower-cased, the scheme's default port dropped, a trailing ``/`` dropped; every
    loopback spelling (``localhost``, ``127.0.0.0/8``, ``::1``) is one host, ``localhost``: on one
    machine they reach the same endpoint for one port.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port is None or port == default else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def account_key(
    provider_id: str,
    base_url: str,
    credentials: Mapping[str, str],
    secrets: tuple[str, ...],
    *,
    account_id: str | None = None,
) -> str:
    """``<id>:<digest>``: SHA-256 over the id, the canonical base URL, and the account's identity.

    The identity is the vendor's account id when the adapter declares which credential holds it (so a
    rotated token is the same account), else the credential names and the secret values. Instances
    pointed at one vendor endpoint, however its URL is spelled, for one account share the key; it
    reveals no credential (only a digest is kept).
    """
    digest = hashlib.sha256()
    endpoint = canonical_base_url(base_url)
    parts = (
        (provider_id, endpoint, "account id", account_id)
        if account_id
        else (provider_id, endpoint, *sorted(credentials.items()), *sorted(secrets))
    )
    for part in parts:
        digest.update(repr(part).encode() + b"\0")
    return f"{provider_id}:{digest.hexdigest()[:32]}"
