"""The installed distribution: two import packages, no top-level `providers`, typed, no development tools."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

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


def test_development_tools_are_a_dependency_group_not_a_published_extra() -> None:
    """The tools are the `dev` group (PEP 735): not in the published metadata, yet installed here beside the package."""
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    group = [Requirement(text) for text in pyproject["dependency-groups"]["dev"]]
    published = importlib.metadata.metadata("numbroker")

    assert "dev" not in pyproject["project"]["optional-dependencies"]
    assert "dev" not in (published.get_all("Provides-Extra") or [])
    assert not [r for r in published.get_all("Requires-Dist") or [] if "pytest" in r or "mypy" in r]
    assert {
        "numbroker", "pytest", "trio", "hypothesis", "mypy", "ruff", "pycountry", "import-linter", "playwright"
    } == {r.name for r in group}  # fmt: skip
    assert {"cli", "postgres", "reports"} == next(r.extras for r in group if r.name == "numbroker")
    for requirement in group:  # this environment was installed from the group, extras and all
        assert requirement.specifier.contains(importlib.metadata.version(requirement.name)), requirement
    for extra in ("cli", "postgres", "reports"):
        for text in pyproject["project"]["optional-dependencies"][extra]:
            name = Requirement(text).name
            assert importlib.metadata.version(name), name
