"""The options more than one command takes, each written once: what ``--help`` says of it and what it means.

* :func:`search_options`: the thirteen options of a search (``--country`` ... ``--sandbox``, ``search`` and
  ``buy-cheapest``), handed to the command as one :class:`SearchOptions` (see :func:`gathered`), which
  reads them when asked:
  :meth:`~SearchOptions.environment`, :meth:`~SearchOptions.target_currency`, :meth:`~SearchOptions.query`,
  :meth:`~SearchOptions.exchange_rates`, :meth:`~SearchOptions.chosen_providers`;
* :func:`format_option` and :func:`output_format`, :data:`ledger_option` and :func:`open_ledger_at`,
  :data:`env_file_option` and :func:`environment`;
* :func:`money_option`: an amount with its currency (``2.50 EUR``), or in ``--currency``.

Each reading raises :class:`~numbroker._cli.errors.UsageProblem` (exit 2, one line) for what a person
typed wrong, in the order the command reads them.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

import click

from numbroker._cli._choices import Codes, flatten
from numbroker._cli.errors import UsageProblem, validation_message
from numbroker._cli.exits import ExitCode
from numbroker._cli.numbers import Seconds, parse_amount
from numbroker._cli.output import say
from numbroker._exceptions import ConfigurationError
from numbroker._inputs import read_input_file
from numbroker._models import SearchQuery
from numbroker._money import Money, validate_currency
from numbroker._pricing import ExchangeRates
from numbroker._registry import get_provider_class, provider_ids, providers_from_env
from numbroker.adapters import Provider

if TYPE_CHECKING:  # the ledger and python-dotenv are imported by the commands that use them
    from numbroker.ledger import Ledger

__all__ = [
    "SearchOptions",
    "capability_option",
    "currency_option",
    "fx_rates_option",
    "number_type_choice",
    "provider_option",
    "sandbox_option",
    "timeout_option",
    "env_file_option",
    "environment",
    "format_option",
    "gathered",
    "ledger_option",
    "money_option",
    "open_ledger_at",
    "output_format",
    "search_options",
]

_F = TypeVar("_F", bound=Callable[..., Any])

env_file_option = click.option("--env-file", type=click.Path(dir_okay=False), help=".env-style file with credentials.")
"""``--env-file``: read with :func:`environment`."""

ledger_option = click.option(
    "--ledger",
    "ledger_where",
    metavar="PATH|URL",
    help="The purchase ledger: an existing SQLite file or a PostgreSQL URL [default: $NUMBROKER_LEDGER, else "
    "ledger.sqlite3 in the user's data directory].",
)
"""``--ledger``: opened with :func:`open_ledger_at`."""


def format_option(*choices: str) -> Callable[[_F], _F]:
    """``--format`` with these choices; :func:`output_format` reads it."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        help="Output format [default: table on a terminal, json otherwise].",
    )


def output_format(fmt: str | None) -> str:
    """The ``--format`` given, else ``table`` on a terminal and ``json`` otherwise."""
    return fmt or ("table" if sys.stdout.isatty() else "json")


number_type_choice = click.Choice(["local", "mobile", "toll_free", "national"], case_sensitive=False)
"""The number types a search (``--type``) can ask for."""

capability_option = click.option(
    "--capability",
    "capabilities",
    multiple=True,
    type=Codes(["voice", "sms", "mms", "fax", "whatsapp"]),
    callback=flatten,
    help="Required capability (repeatable, or comma-separated: sms,voice). "
    "Offers whose capabilities are unknown do not match.",
)
provider_option = click.option(
    "--provider",
    "providers",
    multiple=True,
    type=Codes(),
    callback=flatten,
    help="Provider id (repeatable, or comma-separated: bird,vobiz; default: all configured).",
)
currency_option = click.option(
    "--currency", help="Target currency: convert and rank every price in it (needs --fx-rates)."
)
fx_rates_option = click.option(
    "--fx-rates",
    type=click.Path(dir_okay=False),
    help='JSON rates file: {"base": "EUR", "rates": {"USD": "1.08"}} means 1 EUR = 1.08 USD.',
)
timeout_option = click.option(
    "--timeout", type=Seconds(minimum=0.1), default=30.0, show_default=True, help="Global deadline, seconds."
)
sandbox_option = click.option(
    "--sandbox", is_flag=True, help="Use the built-in emulators: no network, no accounts, deterministic."
)

_SEARCH_OPTIONS = (
    click.option("--country", required=True, help="ISO 3166-1 alpha-2 country, e.g. US, GB, DE."),
    click.option("--type", "number_type", type=number_type_choice),
    capability_option,
    click.option("--prefix", help="Digits right after the country code, e.g. an area code (212)."),
    click.option("--contains", help="Digits the number must contain."),
    provider_option,
    currency_option,
    fx_rates_option,
    click.option("--max-monthly", help="Cap on the monthly price, e.g. 2.50 (in --currency) or '2.50 EUR'."),
    click.option("--max-setup", help="Cap on the setup price, likewise."),
    timeout_option,
    env_file_option,
    sandbox_option,
)
"""The search options, in the order ``--help`` lists them; their names are :class:`SearchOptions`' fields."""


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """The search options as typed; each method reads some of them, raising a usage error when it cannot."""

    country: str
    number_type: str | None
    capabilities: tuple[str, ...]
    prefix: str | None
    contains: str | None
    providers: tuple[str, ...]
    currency: str | None
    fx_rates: str | None
    max_monthly: str | None
    max_setup: str | None
    timeout: float
    env_file: str | None
    sandbox: bool

    def environment(self) -> dict[str, str]:
        """The process environment, with ``--env-file``'s variables (see :func:`environment`)."""
        return environment(self.env_file)

    def target_currency(self) -> str | None:
        """``--currency`` upper-cased, or a usage error naming the code that is not ISO 4217."""
        if self.currency is None:
            return None
        try:
            return validate_currency(self.currency)
        except ValueError:
            raise UsageProblem(
                f"--currency {self.currency!r} is not an ISO 4217 currency code: use one such as EUR, USD or GBP"
            ) from None

    def query(self, currency: str | None, *, limit: int | None, monthly_cap: bool = True) -> SearchQuery:
        """The query: the number filters and price caps (``--max-monthly`` too unless not ``monthly_cap``).

        ``currency`` is the checked ``--currency``, the currency of a cap written without one.
        """
        max_monthly = self.max_monthly if monthly_cap else None
        try:
            return SearchQuery.model_validate(
                {
                    "country": self.country,
                    "number_type": self.number_type,
                    "capabilities": tuple(self.capabilities),
                    "prefix": self.prefix,
                    "contains": self.contains,
                    "max_monthly_price": money_option(max_monthly, currency, "--max-monthly"),
                    "max_setup_price": money_option(self.max_setup, currency, "--max-setup"),
                    "limit": limit,
                }
            )
        except ConfigurationError as exc:  # the query's own one-line error, hints included (UK: did you mean GB?)
            raise UsageProblem(str(exc)) from None

    def exchange_rates(self) -> ExchangeRates | None:
        """The ``--fx-rates`` file's rates, if one was given."""
        return ExchangeRates.from_file(self.fx_rates) if self.fx_rates else None

    def chosen_providers(self, env: Mapping[str, str]) -> tuple[list[Provider], dict[str, list[str]]]:
        """The providers to search, and the skipped ones with the variables they miss.

        With ``--sandbox``, the built-in emulators in-process (none skipped); else those ``env`` configures.
        An unknown ``--provider`` fails first, naming the known ids.
        """
        chosen = list(self.providers) or None
        for pid in chosen or []:
            get_provider_class(pid)
        if self.sandbox:
            # Imported only for --sandbox: the emulators (Starlette) are no part of a real search.
            from numbroker.sandbox import create_sandboxes, in_process_providers

            return in_process_providers(create_sandboxes(chosen)), {}
        return providers_from_env(chosen if chosen else provider_ids(), env=env)


def gathered(into: type[Any], options: Sequence[Callable[[Any], Any]]) -> Callable[[_F], _F]:
    """A decorator declaring ``options`` (in ``--help`` order) on a command, gathering some into one value.

    The options named like the fields of the dataclass ``into`` reach the command as one ``into``, given
    positionally after the values of such decorators above this one; the others as keywords.
    """
    names = tuple(f.name for f in fields(into))

    def declare(command: _F) -> _F:
        @functools.wraps(command)
        def with_value(*values: Any, **given: Any) -> Any:
            value = into(**{name: given.pop(name) for name in names})
            return command(*values, value, **given)

        declared: Callable[..., Any] = with_value
        for option in reversed(options):
            declared = option(declared)
        return cast(_F, declared)

    return declare


search_options = gathered(SearchOptions, _SEARCH_OPTIONS)
"""Declare the search options on a command, which receives them as one :class:`SearchOptions`."""


@overload
def money_option(value: str, currency: str | None, option: str) -> Money: ...


@overload
def money_option(value: str | None, currency: str | None, option: str) -> Money | None: ...


def money_option(value: str | None, currency: str | None, option: str) -> Money | None:
    """An amount option (``2.50`` or ``'2.50 EUR'``) as Money, in ``currency`` when written without one."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]{3})?\s*", value)
    if not match:
        raise UsageProblem(f"{option} takes an amount like 2.50 or '2.50 EUR', got {value!r}")
    amount, code = match.groups()
    code = code or currency
    if code is None:
        raise UsageProblem(f"{option} needs a currency: write '{amount} EUR' or add --currency EUR")
    try:
        return Money(amount=parse_amount(amount, option), currency=code)
    except (ValueError, InvalidOperation) as exc:
        raise UsageProblem(f"{option}: {validation_message(exc)}") from None


def environment(env_file: str | None) -> dict[str, str]:
    """The process environment, plus a .env-style file (variables already set in the environment win)."""
    env = dict(os.environ)
    if env_file:
        if not os.path.exists(env_file):
            raise UsageProblem(f"--env-file {env_file!r} does not exist")
        try:
            text = read_input_file(env_file, name="--env-file")
        except ConfigurationError as exc:
            raise UsageProblem(str(exc)) from None
        from dotenv import dotenv_values

        with _dotenv_problems() as problems:
            values = dotenv_values(stream=io.StringIO(text))
        if problems:
            raise UsageProblem(f"--env-file {env_file!r}: {problems[0]} (write NAME=value, one a line)")
        for key, value in values.items():
            if value is not None:
                env.setdefault(key, value)
    return env


@contextlib.contextmanager
def _dotenv_problems() -> Iterator[list[str]]:
    """Collect python-dotenv's complaints about lines it cannot read, instead of letting it print them."""
    import logging

    problems: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage().removeprefix("python-dotenv ")
            problems.append(text[0].lower() + text[1:] if text else text)

    logger = logging.getLogger("dotenv.main")
    handler, propagate = Collect(logging.WARNING), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield problems
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def open_ledger_at(where: str | None, *, sandbox: bool, cleanup: contextlib.ExitStack) -> Ledger:
    """The ledger ``--ledger`` names (else ``$NUMBROKER_LEDGER`` or the default); a temporary one for --sandbox.

    A ``--ledger`` file that does not exist is a usage error naming it (only the default location, and
    ``numbroker ledger init PATH``, create one); ``--sandbox`` with ``--ledger`` is refused (a sandbox run
    never writes to a real ledger); a ledger that cannot be opened exits 1. ``cleanup`` closes it (and
    removes a temporary one) when the command ends.
    """
    from numbroker.ledger import LedgerError, is_postgres, open_ledger

    if sandbox:
        if where is not None:
            raise UsageProblem(
                "--sandbox buys from the emulators on a temporary ledger of its own: leave out --ledger "
                "(a sandbox run never writes to a real ledger)"
            )
        # Sandbox purchases are make-believe: they never touch a real ledger.
        folder = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="numbroker-sandbox-ledger-"))
        where = os.path.join(folder, "ledger.sqlite3")
    elif where is not None and not is_postgres(where):
        if "://" in where:
            scheme = where.split("://")[0][:20]
            raise UsageProblem(f"a ledger is a file path or a postgresql:// URL, not {scheme}://… (URL not shown)")
        if not os.path.exists(where):
            raise UsageProblem(
                f"no ledger at {os.path.abspath(where)}: check the path, "
                "or create one with `numbroker ledger init PATH`"
            )
    try:
        ledger = open_ledger(where, create=sandbox or where is None)
    except LedgerError as exc:
        say(f"nothing was done: {exc}")
        sys.exit(ExitCode.FAILED)
    cleanup.callback(ledger.close)
    return ledger
