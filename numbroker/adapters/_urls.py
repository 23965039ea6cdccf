"""Where a provider may send requests: base URLs and the ids that go into URL paths."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from numbroker._exceptions import ConfigurationError
from numbroker._inputs import is_loopback

__all__ = ["check_base_url", "is_loopback", "path_segment"]

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,127}")


def path_segment(value: str, name: str) -> str:
    """Validate an id that goes into a URL path (so ``../`` or ``/`` cannot reach another endpoint)."""
    if not _SEGMENT.fullmatch(value):
        raise ConfigurationError(
            f"{name} must be 1-128 letters, digits, '_' or '-' (it goes into the URL path); got an invalid value"
        )
    return value


def check_base_url(url: str, *, name: str = "base_url") -> str:
    """Require ``https://``, or ``http://`` to a loopback address; return the URL without a trailing slash.

    A URL holding whitespace or a control character (a trailing newline from a file) is refused here,
    as a configuration error, instead of failing each request.
    """
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ConfigurationError(f"{name} must not hold whitespace or control characters: {url!r}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if (parts.scheme == "https" and host) or (parts.scheme == "http" and host and is_loopback(host)):
        pass
    else:
        raise ConfigurationError(
            f"{name} must be an https:// URL (plain http:// is allowed only to loopback addresses): {url!r}"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigurationError(f"{name} must not carry a query, fragment or user info: {url!r}")
    return url.rstrip("/")
