"""Where a provider may send requests: https, loopback http, and ids that cannot leave their path segment."""

from __future__ import annotations

import pytest

from numbroker import (
    ConfigurationError,
)
from numbroker.adapters import check_base_url, path_segment


@pytest.mark.parametrize(
    "url",
    ["http://api.example.com", "ftp://x", "api.example.com", "http://10.0.0.1", "https://u:p@x.example", "https://"],
)
def test_plain_http_is_refused_except_loopback(url: str) -> None:
    """http:// is only allowed to loopback; other schemes and user info are refused."""
    with pytest.raises(ConfigurationError):
        check_base_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:1", "http://127.1.2.3"])
def test_loopback_http_is_allowed(url: str) -> None:
    """The sandbox and tests use http:// on loopback."""
    assert url == check_base_url(url)


@pytest.mark.parametrize("value", ["../admin", "a/b", "", "..", "a b", "x?y", "%2e%2e"])
def test_path_ids_cannot_escape(value: str) -> None:
    """Ids that go into URL paths cannot reach another endpoint."""
    with pytest.raises(ConfigurationError):
        path_segment(value, "VOBIZ_AUTH_ID")
