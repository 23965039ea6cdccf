"""The error tree: builtin mixins, pickling, Retry-After and secrets."""

from __future__ import annotations

import ast
import pickle
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

import numbroker
import numbroker._exceptions
import numbroker.adapters
import numbroker.ledger
import numbroker_providers
from numbroker import (
    AuthenticationError,
    BadRequestError,
    InsufficientFundsError,
    MissingCredentialsError,
    NotFoundError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from numbroker.adapters import parse_retry_after
from numbroker.adapters._http_errors import error_for_status


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, InsufficientFundsError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, BadRequestError),
        (418, BadRequestError),
        (422, BadRequestError),
        (429, RateLimitedError),
        (500, ProviderUnavailableError),
        (503, ProviderUnavailableError),
        (302, BadRequestError),
    ],
)
def test_one_status_table(status: int, cls: type[ProviderHTTPError]) -> None:
    """Every status maps to exactly one class of the tree, carrying provider and status."""
    error = error_for_status("vobiz", httpx.Response(status), "")

    assert cls is type(error)
    assert "vobiz" == error.provider
    assert status == error.status_code
    assert str(error).startswith("vobiz: ")


def test_vendor_envelopes_give_message_and_request_id() -> None:
    """Vobiz's, IdentityCall's and Bird's error bodies all yield a readable message."""
    vobiz = '{"status":"error","error":{"code":"INSUFFICIENT_BALANCE","message":"too low"},"requestId":"req_1"}'
    error = error_for_status("vobiz", httpx.Response(402), vobiz)
    assert "INSUFFICIENT_BALANCE: too low" in str(error)
    assert "req_1" == error.request_id
    assert "bad country" in str(error_for_status("identitycall", httpx.Response(422), '{"error": "bad country"}'))
    assert "a; b" in str(error_for_status("identitycall", httpx.Response(422), '{"errors": ["a", "b"]}'))
    assert "X: y" in str(error_for_status("bird", httpx.Response(400), '{"code": "X", "message": "y"}'))


def test_retry_after_seconds_and_http_date() -> None:
    """Retry-After is parsed from delta-seconds and from an HTTP date."""
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    assert 3.0 == parse_retry_after("3")
    assert 120.0 == parse_retry_after("Thu, 01 Jan 2026 12:02:00 GMT", now=now)
    assert 0.0 == parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_rate_limited_error_carries_retry_after() -> None:
    """A 429 exposes the parsed Retry-After in seconds."""
    error = error_for_status("bird", httpx.Response(429, headers={"Retry-After": "7"}), "")

    assert isinstance(error, RateLimitedError)
    assert 7.0 == error.retry_after


@pytest.mark.parametrize(
    "error",
    [
        ProviderError("bird", "x"),
        ProviderTimeoutError("bird", "slow"),
        ProviderConnectionError("bird", "down"),
        RateLimitedError("bird", "slow down", body="b", headers={"Retry-After": "1"}, retry_after=1.0),
        PermissionDeniedError("bird", "no", status_code=403, body="{}", request_id="r"),
        MissingCredentialsError("bird", {"access_key": "BIRD_ACCESS_KEY"}),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_survive_pickling(error: Exception) -> None:
    """Errors cross process boundaries intact (searches may run in worker processes)."""
    clone = pickle.loads(pickle.dumps(error))

    assert type(error) is type(clone)
    assert str(error) == str(clone)
    assert vars(error) == vars(clone)


def test_builtin_mixins() -> None:
    """Callers can catch TimeoutError, ConnectionError, ValueError and LookupError generically."""
    assert issubclass(ProviderTimeoutError, TimeoutError)
    assert issubclass(ProviderConnectionError, ConnectionError)
    assert issubclass(numbroker.ConfigurationError, ValueError)
    assert issubclass(numbroker.UnknownProviderError, LookupError)
    assert issubclass(PermissionDeniedError, AuthenticationError)


def test_missing_credentials_names_argument_and_variable_not_value() -> None:
    """The message tells the next step: the keyword argument and the environment variable."""
    error = MissingCredentialsError("vobiz", {"auth_token": "VOBIZ_AUTH_TOKEN"})

    assert "auth_token=" in str(error)
    assert "VOBIZ_AUTH_TOKEN" in str(error)


def test_body_is_truncated() -> None:
    """Vendor bodies kept on errors are bounded."""
    error = error_for_status("vobiz", httpx.Response(500), "x" * 5000)

    assert len(error.body) <= 500


# -- the drawn tree --------------------------------------------------------------------------------

_SOURCES = (Path(numbroker.__file__).parent, Path(numbroker_providers.__file__).parent)
_CLASS_LINE = re.compile(
    r"(?P<indent>(?:│   |    )*)(?P<connector>[├└]── )?(?P<name>[A-Za-z_]\w*)(?:\((?P<bases>[^)]*)\))?"
)


def _drawn_tree() -> dict[str, tuple[str | None, tuple[str, ...] | None]]:
    """Every class the module docstring draws: name -> (drawn parent or None for a root, bases written or None)."""
    drawn: dict[str, tuple[str | None, tuple[str, ...] | None]] = {}
    path: list[str] = []
    for line in (numbroker._exceptions.__doc__ or "").splitlines():
        if not line.startswith("    "):  # the drawings are the docstring's indented blocks
            continue
        match = _CLASS_LINE.match(line[4:])
        if match is None or (match["indent"] and not match["connector"]):
            continue  # a description continued on the next line
        depth = len(match["indent"]) // 4 + (1 if match["connector"] else 0)
        del path[depth:]
        bases = tuple(b.strip() for b in match["bases"].split(",")) if match["bases"] else None
        drawn[match["name"]] = (path[-1] if path else None, bases)
        path.append(match["name"])
    return drawn


def _public_class(name: str) -> type[BaseException]:
    """The drawn class of that name, from the public module a caller (or an adapter author) imports it from."""
    for module in (numbroker, numbroker.adapters, numbroker.ledger):
        if name in module.__all__:
            found = getattr(module, name)
            assert isinstance(found, type) and issubclass(found, BaseException), name
            return found
    raise AssertionError(f"{name} is drawn but not public in numbroker, numbroker.adapters or numbroker.ledger")


def _source_trees() -> list[ast.Module]:
    return [ast.parse(path.read_text(encoding="utf-8")) for root in _SOURCES for path in sorted(root.rglob("*.py"))]


def test_the_drawing_has_the_trees_roots() -> None:
    drawn = _drawn_tree()

    assert {"NumbrokerError", "FieldError"} == {name for name, (parent, _) in drawn.items() if parent is None}
    assert len(drawn) > 20


def test_every_drawn_class_has_the_drawn_parent_and_bases() -> None:
    """A class's drawn parent is its first base; bases written in parentheses are all of them, in order."""
    for name, (parent, bases) in _drawn_tree().items():
        cls = _public_class(name)
        actual = tuple(base.__name__ for base in cls.__bases__)

        assert name == cls.__name__
        if parent is None:
            assert bases == actual, name
        else:
            assert (bases or (parent,)) == actual, name
            assert parent == actual[0], name


def test_every_error_class_in_the_code_is_drawn() -> None:
    """Whatever numbroker or the built-in adapters derive from a drawn class is drawn too."""
    drawn = set(_drawn_tree())
    derived: dict[str, set[str]] = {}
    for tree in _source_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                derived[node.name] = bases
    reachable = set(drawn)
    grew = True
    while grew:
        more = {name for name, bases in derived.items() if bases & reachable} - reachable
        reachable |= more
        grew = bool(more)

    assert set() == reachable - drawn


def test_every_drawn_class_is_used_somewhere() -> None:
    """Each drawn class is raised, caught, checked for or subclassed in the code: none is drawn and dead."""
    used: set[str] = set()
    for tree in _source_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)

    assert set() == set(_drawn_tree()) - used
