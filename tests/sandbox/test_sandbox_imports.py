"""The sandbox package's import boundary: the core never needs the ``sandbox`` extra, and its surface is stable."""

from __future__ import annotations

import json
import subprocess
import sys

import numbroker.sandbox

SERVER_LIBRARIES = ("starlette", "uvicorn")


def _imported_after(statement: str) -> list[str]:
    """The sandbox extra's libraries in ``sys.modules`` after ``statement`` runs in a fresh interpreter."""
    code = (
        f"import json, sys; {statement}; print(json.dumps(sorted(m for m in {SERVER_LIBRARIES!r} if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded: list[str] = json.loads(out)
    return loaded


def test_the_core_and_the_adapter_kit_import_neither_starlette_nor_uvicorn() -> None:
    assert [] == _imported_after("import numbroker, numbroker.adapters, numbroker.adapters.wire")


def test_the_providers_adapters_import_neither_starlette_nor_uvicorn() -> None:
    modules = ", ".join(f"numbroker_providers.{pid}._adapter" for pid in ("bird", "identitycall", "vobiz"))

    assert [] == _imported_after(f"import {modules}")


def test_uvicorn_is_imported_only_when_a_server_starts() -> None:
    assert ["starlette"] == _imported_after("import numbroker.sandbox")


def test_every_public_name_is_listed_once_and_importable() -> None:
    names = numbroker.sandbox.__all__

    assert len(names) == len(set(names))
    for name in names:
        assert getattr(numbroker.sandbox, name).__doc__, name
