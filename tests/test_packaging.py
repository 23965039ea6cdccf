"""The installed distribution: two import packages, no top-level `providers`, typed."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import numbroker
from numbroker._registry import BUILTIN_PROVIDERS


def test_version_matches_metadata() -> None:
    """numbroker.__version__ comes from the installed metadata."""
    assert importlib.metadata.version("numbroker") == numbroker.__version__


def test_no_top_level_providers_module_is_installed(tmp_path: Path) -> None:
    """`providers/` is a source root only: no distribution file installs a top-level `providers` package."""
    files = importlib.metadata.files("numbroker") or []
    top_levels = {Path(str(f)).parts[0] for f in files}

    assert "providers" not in top_levels
    code = "import importlib.util; print(importlib.util.find_spec('providers'))"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)

    assert "None" == found.stdout.strip()


def test_adapters_live_in_numbroker_providers() -> None:
    """Every built-in registry entry imports from numbroker_providers, and the package is typed."""
    for path in BUILTIN_PROVIDERS.values():
        module = importlib.import_module(path.partition(":")[0])
        assert module.__name__.startswith("numbroker_providers.")
    package = importlib.import_module("numbroker_providers")
    assert package.__file__ is not None
    assert (Path(package.__file__).parent / "py.typed").exists()
    assert numbroker.__file__ is not None
    assert (Path(numbroker.__file__).parent / "py.typed").exists()


def test_core_has_no_vendor_knowledge() -> None:
    """No core module names a vendor: vendor code lives only in numbroker_providers."""
    assert numbroker.__file__ is not None
    core = Path(numbroker.__file__).parent
    for source in core.rglob("*.py"):
        if source.name == "_registry.py" or "_cli" in source.parts:
            continue  # the built-in table names the adapters' paths; CLI help shows provider ids in examples
        text = source.read_text().lower()
        for vendor in ("vobiz", "messagebird", "bird.com", "identitycall", "telnyx"):
            assert vendor not in text, f"{source.name} mentions {vendor}"
