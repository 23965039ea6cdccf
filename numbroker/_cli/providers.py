"""``numbroker providers``: every known provider (built-in and plug-in), whether it is configured, how it filters."""

from __future__ import annotations

import click
from rich.console import Console

from numbroker._cli.errors import command_errors
from numbroker._cli.options import env_file_option, environment, format_option, output_format
from numbroker._cli.output import redacted_output
from numbroker._cli.providers_listing import FILTER_LEGEND, provider_rows, providers_json, providers_table
from numbroker._registry import available_providers

__all__ = ["providers_command"]

PROVIDERS_EXAMPLES = """
\b
Examples:
  numbroker providers
  numbroker providers --format json | jq '.[] | select(.configured)'
"""


@click.command("providers", epilog=PROVIDERS_EXAMPLES)
@format_option("table", "json")
@env_file_option
def providers_command(fmt: str | None, env_file: str | None) -> None:
    """List every known provider (built-in and plug-in), whether it is configured, and how it filters."""
    with command_errors(), redacted_output():
        env = environment(env_file)
        fmt = output_format(fmt)
        rows = provider_rows(available_providers(), env)
        if fmt == "json":
            click.echo(providers_json(rows))
            return
        Console(highlight=False).print(providers_table(rows))
        click.echo(FILTER_LEGEND, err=True)
