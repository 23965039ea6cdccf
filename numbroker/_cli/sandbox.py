"""``numbroker sandbox serve``: every provider's sandbox on loopback, and the exports that point tools at them."""

from __future__ import annotations

import contextlib
import sys
import threading

import click

from numbroker._cli.errors import UsageProblem, command_errors
from numbroker._inputs import is_loopback
from numbroker._registry import get_provider_class
from numbroker.sandbox import create_sandboxes, serve_sandboxes

__all__ = ["sandbox"]

SANDBOX_EXAMPLES = """
\b
Examples:
  numbroker search --sandbox --country US    # in-process, no server needed
  numbroker sandbox serve --port 8700        # on loopback, for other tools
"""

SERVE_EXAMPLES = """
\b
Example:
  numbroker sandbox serve --port 8700
  # in another shell, paste the printed export lines, then:
  numbroker search --country US
"""


@click.group("sandbox", epilog=SANDBOX_EXAMPLES)
def sandbox() -> None:
    """The built-in vendor emulators: deterministic inventories speaking each vendor's API."""


@sandbox.command("serve", epilog=SERVE_EXAMPLES)
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=0,
    show_default=True,
    help="First port (each provider gets its own: port, port+1, ...; 0 picks free ports).",
)
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True, help="Inventory seed.")
@click.option(
    "--owned",
    type=click.IntRange(min=0, max=1000),
    default=0,
    show_default=True,
    help="Numbers each account owns before anything is bought (where its sandbox has an owned list).",
)
def sandbox_serve(host: str, port: int, seed: int, owned: int) -> None:
    """Serve every provider's sandbox on loopback and print the exports that point tools at them."""
    with command_errors():
        if not is_loopback(host):
            raise UsageProblem(f"--host must be a loopback address (127.0.0.1, ::1, localhost), got {host!r}")
        sandboxes = create_sandboxes(seed=seed, owned=owned) if owned else create_sandboxes(seed=seed)
        if port and port + len(sandboxes) - 1 > 65535:
            raise UsageProblem(
                f"--port {port}: the {len(sandboxes)} sandboxes need ports {port} to {port + len(sandboxes) - 1}, "
                f"past 65535: use --port {65536 - len(sandboxes)} or lower (or 0 for free ports)"
            )
        with contextlib.ExitStack() as stack:
            try:  # every port is bound before anything is printed
                urls = stack.enter_context(serve_sandboxes(sandboxes, host=host, port=port))
            except OSError as exc:
                raise UsageProblem(
                    f"--port: cannot listen on {exc.filename} ({exc.strerror or exc}): "
                    "choose another --port, or 0 for free ports"
                ) from None
            for pid, box in sandboxes.items():
                for key, value in box.env.items():
                    # A path (Twilio's Pricing API, /v1) is on the sandbox's own origin: printed whole.
                    origin = urls[pid][: len(urls[pid]) - len(box.base_path)] if box.base_path else urls[pid]
                    click.echo(f"export {key}={origin + value if value.startswith('/') else value}")
                click.echo(f"export {get_provider_class(pid).base_url_env}={urls[pid]}")
            click.echo("# serving; press Ctrl-C to stop", err=True)
            sys.stdout.flush()
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                click.echo("stopped", err=True)
