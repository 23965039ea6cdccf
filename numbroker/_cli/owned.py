"""``numbroker owned``: every number the configured accounts own, what it costs a month, and what needs a look.

Exit codes as search: 0 every asked provider answered, 3 partial, 1 none answered, 2 usage.
"""

from __future__ import annotations

import contextlib
import csv
import sys
import textwrap
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

import click

from numbroker._cli.errors import UsageProblem, command_errors, validation_message
from numbroker._cli.exits import ExitCode
from numbroker._cli.numbers import Seconds
from numbroker._cli.options import env_file_option, environment, format_option, output_format
from numbroker._cli.output import output_file, redacted_output, say
from numbroker._registry import get_provider_class

if TYPE_CHECKING:
    from numbroker._holdings import OwnedFilters, OwnedResult, OwnedSummary, Reconciliation
    from numbroker._owned import OwnedNumber, OwnedQuery
    from numbroker._pricing import ExchangeRates
    from numbroker.ledger import Ledger

__all__ = ["owned_command"]

WIDTH = 80
CSV_FIELDS = (
    "provider",
    "provider_number_id",
    "e164",
    "country",
    "number_type",
    "capabilities",
    "status",
    "vendor_status",
    "monthly_amount",
    "monthly_currency",
    "price_source",
    "next_renewal",
    "renewal_source",
    "routed",
    "sub_account",
    "account",
    "purchased_at",
)

OWNED_EXAMPLES = """
\b
Examples:
  numbroker owned --sandbox
  numbroker owned --renewing-within 14 --format csv > renewing.csv
  numbroker owned --unrouted --provider vobiz
  numbroker owned --currency USD --fx-rates rates.json --format json
  numbroker owned --provider vobiz --partner
  numbroker owned --format ndjson --ledger postgresql://ledger.example/numbroker

\b
The weekly check (cron): every Monday at 07:00, the numbers renewing within 14 days and those
routed nowhere:
  0 7 * * 1  numbroker owned --renewing-within 14 --format csv > /var/reports/renewing.csv
  5 7 * * 1  numbroker owned --unrouted --format csv > /var/reports/unrouted.csv

\b
Reconciliation reads the purchase ledger (--ledger, $NUMBROKER_LEDGER or the default one, if it
exists; never with --sandbox unless --ledger is given): numbers it says were bought that the
vendor no longer lists, numbers it says were not kept that the vendor still lists (still
billed), and how many listed numbers it does not know.

\b
Exit codes: 0 complete, 3 partial (some providers failed; what arrived is printed),
1 no provider answered or none can list its numbers, 2 usage/configuration error.
"""


SANDBOX_OWNED = 12
"""Numbers each sandboxed account starts out owning (enough to show every quirk of its owned list)."""


def _sandboxed(ids: tuple[str, ...]) -> list[Any]:
    """In-process adapters over sandboxes whose accounts already own numbers."""
    from numbroker.sandbox import create_sandboxes, in_process_providers

    for pid in ids:
        get_provider_class(pid)  # unknown ids fail fast, listing the known ones
    return in_process_providers(create_sandboxes(list(ids) or None, owned=SANDBOX_OWNED))


def _ledger(where: str | None, sandbox: bool) -> Any:
    """The ledger to reconcile with, read only; None when there is none to read."""
    import os

    from numbroker.ledger import LEDGER_ENV, LedgerError, default_ledger_path, open_ledger

    if where is None:
        if sandbox:
            return None  # sandbox numbers are make-believe: a real ledger is never read for them
        where = os.environ.get(LEDGER_ENV)
        if where is None:
            try:
                path = default_ledger_path()
            except LedgerError:
                return None
            if not path.exists():
                return None
            where = str(path)
    if "://" not in where and not os.path.exists(where):
        raise UsageProblem(f"--ledger {where!r} does not exist (reconciliation only reads a ledger)")
    try:
        return open_ledger(where)
    except LedgerError as exc:
        raise UsageProblem(str(exc)) from None


@click.command("owned", epilog=OWNED_EXAMPLES)
@click.option("--provider", "providers", multiple=True, help="Provider id (repeatable; default: all configured).")
@click.option("--country", help="Only numbers of this ISO 3166-1 alpha-2 country.")
@click.option("--type", "number_type", type=click.Choice(["local", "mobile", "toll_free", "national", "shared_cost"]))
@click.option(
    "--renewing-within",
    type=click.IntRange(0, 3660),
    metavar="DAYS",
    help="Only numbers renewing within DAYS days (or overdue). The summary counts 14 days without it.",
)
@click.option("--unrouted", is_flag=True, help="Only numbers routed nowhere (no application, trunk or callback).")
@click.option("--currency", help="Convert the monthly total to this currency (needs --fx-rates for others).")
@click.option(
    "--fx-rates",
    type=click.Path(dir_okay=False),
    help='JSON rates file: {"base": "EUR", "rates": {"USD": "1.08"}} means 1 EUR = 1.08 USD.',
)
@click.option("--ledger", "ledger_where", metavar="PATH|URL", help="The purchase ledger to reconcile with.")
@click.option("--partner", is_flag=True, help="A partner account: every customer's numbers (Vobiz).")
@click.option("--customer", metavar="AUTH_ID", help="A partner account: this customer's numbers (Vobiz).")
@format_option("table", "json", "ndjson", "csv", "html")
@click.option("--output", type=click.Path(dir_okay=False), help="Write to FILE (replaced only once written whole).")
@click.option("--timeout", type=Seconds(minimum=0.1), default=60.0, show_default=True, help="Deadline, seconds.")
@env_file_option
@click.option("--sandbox", is_flag=True, help="Use the built-in emulators: no network, no accounts.")
def owned_command(
    providers: tuple[str, ...],
    country: str | None,
    number_type: str | None,
    renewing_within: int | None,
    unrouted: bool,
    currency: str | None,
    fx_rates: str | None,
    ledger_where: str | None,
    partner: bool,
    customer: str | None,
    fmt: str | None,
    output: str | None,
    timeout: float,
    env_file: str | None,
    sandbox: bool,
) -> None:
    """List the numbers the accounts own: monthly cost, renewals, routing, and the ledger's view."""
    from pydantic import ValidationError

    from numbroker._holdings import DEFAULT_RENEWING_WITHIN, OwnedFilters
    from numbroker._money import validate_currency
    from numbroker._owned import OwnedQuery, OwnedView
    from numbroker._registry import provider_ids, providers_from_env
    from numbroker._types import NumberType

    with command_errors(), redacted_output():
        fmt = output_format(fmt) if output is None else (fmt or "json")
        if partner and customer is not None:
            raise UsageProblem("--partner and --customer are two views: give one")
        if (partner or customer is not None) and ledger_where is not None:
            raise UsageProblem("--ledger reconciles the accounts' own numbers, not a partner's views")
        if currency is not None:
            try:
                currency = validate_currency(currency.strip().upper())
            except ValueError:
                raise UsageProblem(
                    f"--currency {currency!r} is not an ISO 4217 currency code: use one such as EUR, USD or GBP"
                ) from None
        try:
            query = OwnedQuery(
                view=OwnedView.PARTNER
                if partner
                else OwnedView.CUSTOMER
                if customer is not None
                else OwnedView.ACCOUNT,
                customer=customer,
            )
            filters = OwnedFilters(
                country=country.strip().upper() if country else None,
                number_type=None if number_type is None else NumberType(number_type),
                unrouted=unrouted,
                renewing_within=DEFAULT_RENEWING_WITHIN if renewing_within is None else renewing_within,
                renewing_only=renewing_within is not None,
            )
        except ValidationError as exc:
            raise UsageProblem(f"invalid owned query: {validation_message(exc)}") from None
        rates = None
        if fx_rates:
            from numbroker._pricing import ExchangeRates

            rates = ExchangeRates.from_file(fx_rates)
        env = environment(env_file)
        skipped: dict[str, list[str]] = {}
        if sandbox:
            built = _sandboxed(providers)
        else:
            for pid in providers:
                get_provider_class(pid)  # unknown ids fail fast, listing the known ones
            built, skipped = providers_from_env(list(providers) or provider_ids(), env=env)
        ledger = None if query.view is not OwnedView.ACCOUNT else _ledger(ledger_where, sandbox)
        with contextlib.ExitStack() as closing:
            out = sys.stdout if output is None else closing.enter_context(output_file(output))
            result = _listed(built, _Writer(fmt, out), query, filters, currency, rates, ledger, timeout, skipped)
        if output is not None:
            say(f"wrote {output}")
        _say_reports(result, configured=bool(built))
        from numbroker._reports import OverallStatus

        codes = {OverallStatus.COMPLETE: ExitCode.OK, OverallStatus.PARTIAL: ExitCode.PARTIAL}
        sys.exit(codes.get(result.status, ExitCode.FAILED))


def _listed(
    built: list[Any],
    writer: _Writer,
    query: OwnedQuery,
    filters: OwnedFilters,
    currency: str | None,
    rates: ExchangeRates | None,
    ledger: Ledger | None,
    timeout: float,
    skipped: dict[str, list[str]],
) -> OwnedResult:
    """List the owned numbers into ``writer`` (then its summary), closing the providers and the ledger."""
    from numbroker._holdings import stream_owned
    from numbroker._sync import run_sync

    async def run() -> OwnedResult:
        try:
            return await stream_owned(
                built,
                writer.number,
                query=query,
                filters=filters,
                currency=currency,
                rates=rates,
                ledger=ledger,
                deadline=timeout,
                skipped=skipped,
            )
        finally:
            for provider in built:
                await provider.aclose()

    try:
        result: OwnedResult = run_sync(run)
    finally:
        if ledger is not None:
            ledger.close()
    writer.finish(result)
    writer.out.flush()
    return result


def _say_reports(result: OwnedResult, *, configured: bool) -> None:
    """One stderr line per provider that failed or listed only part of its numbers (vendor text shown inert)."""
    for report in result.providers:
        if report.status.failed:
            say(f"{report.provider}: {report.status.value}: {report.error}")
        elif report.truncated:
            say(f"{report.provider}: incomplete list: {'; '.join(report.notes)}")
    if not configured:
        say("no provider is configured: set its variables, or try --sandbox")


class _Writer:
    """Writes numbers as they arrive (ndjson, csv) or once sorted (json, table), then the summary."""

    def __init__(self, fmt: str, out: IO[str]) -> None:
        self.fmt = fmt
        self.out = out
        self.kept: list[OwnedNumber] = []
        self.csv: Any = None
        if fmt == "csv":
            self.csv = csv.writer(out, lineterminator="\n")
            self.csv.writerow(CSV_FIELDS)

    def number(self, number: OwnedNumber) -> None:
        if self.fmt == "ndjson":
            self.out.write(_dumps({"type": "number", **number.model_dump(mode="json")}) + "\n")
        elif self.fmt == "csv":
            self.csv.writerow(_csv_row(number))
        else:
            self.kept.append(number)

    def finish(self, result: OwnedResult) -> None:
        if self.fmt == "ndjson":
            document = result.to_json_dict()
            del document["numbers"]
            self.out.write(_dumps({"type": "summary", **document}) + "\n")
        elif self.fmt == "json":
            numbers = sorted(self.kept, key=lambda n: (n.provider, n.e164, n.provider_number_id))
            self.out.write(_dumps(result.model_copy(update={"numbers": numbers}).to_json_dict()) + "\n")
        elif self.fmt == "table":
            numbers = sorted(self.kept, key=lambda n: (n.provider, n.e164, n.provider_number_id))
            for line in table_lines(numbers, result):
                self.out.write(line + "\n")
        elif self.fmt == "html":
            from numbroker._cli.html_report import owned_html  # Jinja2 and the charts: only for HTML

            numbers = sorted(self.kept, key=lambda n: (n.provider, n.e164, n.provider_number_id))
            self.out.write(owned_html(numbers, result))


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _csv_row(number: OwnedNumber) -> list[str]:
    price = number.monthly_price
    return [
        number.provider,
        number.provider_number_id,
        number.e164,
        number.country,
        number.number_type.value,
        ";".join(c.value for c in number.capabilities) if number.capabilities is not None else "",
        number.status.value,
        number.vendor_status or "",
        "" if price is None else str(price.amount),
        "" if price is None else price.currency,
        "" if number.price_source is None else number.price_source.value,
        "" if number.next_renewal is None else number.next_renewal.isoformat(),
        "" if number.renewal_source is None else number.renewal_source.value,
        "" if number.routed is None else str(number.routed).lower(),
        number.sub_account or "",
        number.account or "",
        "" if number.purchased_at is None else number.purchased_at.isoformat().replace("+00:00", "Z"),
    ]


def _money_text(amounts: dict[str, Any]) -> str:
    return " + ".join(f"{amount} {code}" for code, amount in sorted(amounts.items())) or "nothing priced"


def _state(number: OwnedNumber) -> str:
    """The number's status when it is not plainly active, and the sub-account holding it, if any."""
    parts = [] if number.status.value == "active" else [number.status.value]
    return " ".join([*parts, *([number.sub_account] if number.sub_account else [])])


def table_lines(numbers: list[OwnedNumber], result: OwnedResult) -> list[str]:
    """The numbers as a table within 80 columns (numbers and prices whole), then what the summary means."""
    partner = result.query.view.value != "account"
    rows = [
        [
            n.provider,
            n.e164,
            n.country,
            "?" if n.monthly_price is None else f"{n.monthly_price.amount} {n.monthly_price.currency}",
            "?"
            if n.next_renewal is None
            else n.next_renewal.isoformat() + ("*" if n.renewal_source == "derived" else ""),
            {True: "yes", False: "NO", None: "?"}[n.routed],
            (n.account or "") if partner else _state(n),
        ]
        for n in numbers
    ]
    header = ["PROVIDER", "NUMBER", "CC", "MONTHLY", "RENEWS", "ROUTED", "ACCOUNT" if partner else "STATUS, SUB"]
    widths = [max([len(header[i])] + [len(r[i]) for r in rows]) for i in range(len(header))]
    fixed = sum(widths[:6]) + 2 * 6
    last = max(len(header[6]), WIDTH - fixed)
    lines = []
    if rows:
        for row in [header, *rows]:
            cells = [row[i].ljust(widths[i]) for i in range(6)]
            tail = row[6] if len(row[6]) <= last else row[6][: max(1, last - 1)] + "…"
            lines.append(("  ".join(cells) + "  " + tail).rstrip())
    else:
        lines.append("No owned numbers match.")
    lines.append("")
    lines += _summary_lines(result.summary, len(numbers))
    if result.reconciliation is not None:
        lines += _reconciliation_lines(result.reconciliation)
    return lines


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)


def _summary_lines(summary: OwnedSummary, shown: int) -> list[str]:
    days = summary.renewing_within
    today = datetime.now(UTC).date().isoformat()
    lines = _wrap(
        f"Summary of every listed number ({shown} shown): monthly is the sum of known monthly prices per "
        f"currency; price ? means neither the vendor nor the ledger states one; renewing soon means the "
        f"next renewal is within {days} days of {today} (or past); * marks a renewal derived from the "
        f"vendor's billing rule; unrouted means no application, connection, trunk or callback is set."
    )
    for pid, h in summary.by_provider.items():
        lines += _wrap(
            f"{pid}: {h.numbers} numbers, monthly {_money_text(h.monthly)}, {h.price_unknown} price unknown, "
            f"{h.unrouted} unrouted, {h.renewing_soon} renewing soon"
        )
    lines += _wrap(f"Monthly total: {_money_text(summary.monthly_total)}")
    if summary.currency is not None:
        if summary.converted_monthly_total is not None:
            converted = summary.converted_monthly_total
            lines += _wrap(f"Converted: {converted.amount} {converted.currency}")
        else:
            lines += _wrap(
                f"Converted to {summary.currency}: not given (no rate for {', '.join(summary.unconverted)}; "
                "see --fx-rates)"
            )
    return lines


def _reconciliation_lines(found: Reconciliation) -> list[str]:
    lines = _wrap(
        f"Ledger: {len(found.missing_at_vendor)} bought but no longer listed, {len(found.still_listed)} "
        f"given back but still listed (still billed), {sum(found.not_in_ledger.values())} listed but "
        "unknown to the ledger."
    )
    for entry in found.missing_at_vendor:
        lines += _wrap(f"  not listed: {entry.provider} {entry.e164} (attempt {entry.attempt_id})")
    for entry in found.still_listed:
        lines += _wrap(f"  still listed: {entry.provider} {entry.e164} (attempt {entry.attempt_id})")
    if found.unchecked:
        lines += _wrap(f"  not checked (incomplete lists): {', '.join(found.unchecked)}")
    return lines
