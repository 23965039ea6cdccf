"""The error tree: builtin mixins, pickling, Retry-After and secrets."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

import pytest

import numbroker
import numbroker._exceptions
import numbroker.adapters
import numbroker.ledger
import numbroker_providers
from numbroker import (
    AuthenticationError,
    MissingCredentialsError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
)


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
