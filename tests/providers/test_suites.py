"""The shared provider suites of numbroker.testing, as third-party adapter authors meet them.

Importing the package (and the kits that need no pytest) imports no pytest; every public name is documented;
a suite given too little data says so when the subclass is defined; and the live suite really searches when
the credentials are in the environment pytest starts with (sandboxes on loopback stand in for the vendors).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from numbroker import AuthenticationError, get_provider_class
from numbroker.sandbox import create_sandboxes, serve_sandboxes
from numbroker.testing.integration import IntegrationSuite, Refusal

SUITES = ["contract", "contract_owned", "integration", "fuzz", "purchase", "live"]


@pytest.mark.parametrize("module", ["numbroker.testing", "numbroker.testing.hostile"])
def test_the_kits_import_no_pytest(module: str) -> None:
    """The fakes and the hostile vendor are usable outside pytest (fuzzing needs hypothesis, which loads it)."""
    code = f"import sys, {module}; print('pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert "False" == out


@pytest.mark.parametrize("name", ["", *SUITES, "hostile"])
def test_every_public_name_is_documented(name: str) -> None:
    """Each module of numbroker.testing says what it is, and so does each name it exports."""
    module = importlib.import_module("numbroker.testing" + (f".{name}" if name else ""))

    assert module.__doc__
    for export in module.__all__:
        obj = getattr(module, export)
        if callable(obj):
            assert obj.__doc__, export


def test_an_integration_suite_without_a_wrong_credential_is_refused_when_defined() -> None:
    """A provider with credentials must give one the vendor refuses; a suite without it cannot be defined."""
    with pytest.raises(TypeError, match="refusals"):
        type("TestNoRefusal", (IntegrationSuite,), {"provider_id": "vobiz"})

    class TestRefusal(IntegrationSuite):
        provider_id = "vobiz"
        refusals = (Refusal(AuthenticationError, env={"VOBIZ_AUTH_TOKEN": "wrong-0000"}),)

    assert get_provider_class("vobiz") is TestRefusal.provider_class


def test_the_live_suite_searches_whenever_the_credentials_are_set() -> None:
    """With every provider's variables set (pointing at sandboxes on loopback), every live test runs and passes."""
    sandboxes = create_sandboxes()
    with serve_sandboxes(sandboxes) as urls:
        env = {name: value for name, value in os.environ.items() if not name.startswith("NUMBROKER_")}
        for pid, sandbox in sandboxes.items():
            env.update(sandbox.env)
            env[get_provider_class(pid).base_url_env] = urls[pid]
        live = sorted(str(path) for path in Path(__file__).parent.glob("*/test_live.py"))
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "live", *live]
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    assert 0 == proc.returncode, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"{2 * len(sandboxes)} passed" in proc.stdout
    assert "skipped" not in proc.stdout
