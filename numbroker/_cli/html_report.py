"""Self-contained HTML reports (``--format html``) of a comparison and of the owned numbers.

One file that loads nothing: the styles are inline, there is no script, font or image to fetch, and the
charts are inline SVG, drawn when the report is written. A Content-Security-Policy meta forbids every
load besides (``default-src 'none'``), so a report can be mailed, archived and opened offline, and a
report tampered with still cannot call out. Templates are Jinja2 with autoescape on: every vendor
string (a status, a sub-account, a note, an error) is escaped, and its control characters are shown
(:func:`numbroker._text.visible`), never obeyed.

Charts are Vega-Lite specifications rendered to SVG by ``vl-convert-python`` (one wheel with no
dependencies and no browser, that renders offline). Amounts reach a chart as exact decimal text, and
the chart's own engine reads them as numbers for positions only: every amount a person reads in the
tables is the exact figure. Needs the ``reports`` extra: ``pip install 'numbroker[reports]'``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from numbroker._cli.errors import UsageProblem
from numbroker._cli.tables import ASSUMED_MARK, CONVERTED_MARK
from numbroker._compare import CompareRow, Comparison
from numbroker._reports import ProviderReport
from numbroker._text import visible

if TYPE_CHECKING:
    from jinja2 import Environment

    from numbroker._holdings import OwnedResult
    from numbroker._owned import OwnedNumber

__all__ = ["CSP", "comparison_html", "owned_html", "write_comparison"]

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; form-action 'none'"
)
"""The report's Content-Security-Policy: nothing may be loaded, fetched or submitted; inline styles only."""

_WIDTH = 460
_TYPES = {"scale": {"domain": ["local", "mobile", "toll_free", "national", "unknown"]}}
"""Each number type keeps its colour in every chart."""
_RENEWAL_WEEKS = 6


@dataclass(frozen=True, slots=True)
class Chart:
    """One inline chart: what it shows (``kind``), its caption and its SVG."""

    kind: str
    caption: str
    svg: Any


def _environment() -> Environment:
    try:
        import jinja2
    except ImportError:
        raise UsageProblem("--format html needs the reports extra: pip install 'numbroker[reports]'") from None
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("numbroker._cli", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.finalize = _finalize
    return environment


def _finalize(value: Any) -> Any:
    """Every value a template prints: vendor text with its control characters shown (then escaped)."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return visible(value)
    return value


def _svg(spec: Mapping[str, Any]) -> Any:
    """A Vega-Lite chart as inline SVG, checked to hold nothing that could run or load."""
    try:
        import vl_convert
        from markupsafe import Markup
    except ImportError:
        raise UsageProblem("--format html needs the reports extra: pip install 'numbroker[reports]'") from None
    svg: str = vl_convert.vegalite_to_svg(json.dumps(spec))
    lowered = svg.lower()
    if not lowered.lstrip().startswith("<svg") or any(
        bad in lowered for bad in ("<script", "<foreignobject", "href=", "url(", "@import")
    ):
        raise RuntimeError("the chart renderer produced SVG that loads or runs something: refused")
    return Markup(svg)  # produced from our own spec, and checked above


def _page(template: str, title: str, subtitle: str, **context: Any) -> str:
    from numbroker import __version__

    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        _environment()
        .get_template(template)
        .render(csp=CSP, version=__version__, title=title, subtitle=subtitle, generated=generated, **context)
    )


def _base_spec(data: list[dict[str, str]], fields: Sequence[str]) -> dict[str, Any]:
    """A spec over ``data`` whose ``fields`` hold exact decimal text, read as numbers for positions only."""
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": _WIDTH,
        "data": {"values": data},
        "transform": [{"calculate": f"toNumber(datum['{f}'])", "as": f"{f}_value"} for f in fields],
        "config": {"font": "sans-serif", "view": {"stroke": None}},
    }


# -- a comparison ------------------------------------------------------------------------------------------


def write_comparison(comparison: Comparison, out: TextIO) -> None:
    """Write ``comparison`` as one self-contained HTML report."""
    out.write(comparison_html(comparison))


def comparison_html(comparison: Comparison) -> str:
    """The comparison as one self-contained HTML document (tables, a chart of every offer, the totals)."""
    cheapest = {(c.country, c.number_type, c.provider, c.currency) for c in comparison.cheapest}
    countries = []
    for code in comparison.countries:
        rows = [r for r in comparison.rows if r.country == code]
        countries.append(
            {
                "code": code,
                "rows": [_row_context(r, (r.country, r.number_type, r.provider, r.currency) in cheapest) for r in rows],
                "charts": _country_charts(comparison, code, rows),
            }
        )
    names = ", ".join(comparison.countries)
    subtitle = f"{comparison.months}-month totals" + (f", in {comparison.currency}" if comparison.currency else "")
    return _page(
        "compare.html.j2",
        f"Carriers compared: {names}",
        subtitle + ".",
        status=comparison.status.value,
        months=comparison.months,
        currency=comparison.currency,
        countries=countries,
        providers=[
            _report_context(p.report, country=p.country, number_type=p.number_type) for p in comparison.providers
        ],
    )


def _row_context(row: CompareRow, cheapest: bool) -> dict[str, Any]:
    def money(amount: Decimal | None) -> str:
        shown = row.shown(amount)
        if shown is None:
            return "—"
        text = format(shown.amount, "f")
        return f"{CONVERTED_MARK}{text}" if row.converted else text + (ASSUMED_MARK if row.currency_assumed else "")

    return {
        "number_type": row.number_type,
        "provider": row.provider,
        "currency": row.currency,
        "currency_assumed": row.currency_assumed,
        "truncated": row.truncated,
        "offers": row.offers,
        "unpriced": row.unpriced,
        "monthly_min": money(row.monthly_min),
        "monthly_median": money(row.monthly_median),
        "monthly_max": money(row.monthly_max),
        "setup_min": money(row.setup_min),
        "first_bill_min": money(row.first_bill_min),
        "total_min": money(row.total_min),
        "cheapest_e164": row.cheapest_e164,
        "cheapest": cheapest,
    }


def _country_charts(comparison: Comparison, country: str, rows: Sequence[CompareRow]) -> list[Chart]:
    """Per currency: every offer's monthly price by provider, and each provider's lowest N-month total."""
    converting = comparison.currency is not None
    prices: dict[str, list[dict[str, str]]] = {}
    for ranked in comparison.offers.get(country, []):
        monthly = ranked.converted_monthly_price if converting else ranked.offer.monthly_price
        if monthly is not None:
            prices.setdefault(monthly.currency, []).append(
                {
                    "provider": ranked.offer.provider,
                    "type": ranked.offer.number_type.value,
                    "monthly": format(monthly.amount, "f"),
                }
            )
    totals: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        if row.total_min is not None and row.currency is not None and row.converted == converting:
            totals.setdefault(row.currency, []).append(
                {"provider": row.provider, "type": row.number_type, "total": format(row.total_min, "f")}
            )
    charts = []
    for currency, data in sorted(prices.items()):
        charts.append(
            Chart(
                "monthly",
                f"{country}: monthly price of every offer, by provider ({currency})",
                _svg(_offers_spec(data, currency)),
            )
        )
    for currency, data in sorted(totals.items()):
        caption = f"{country}: lowest {comparison.months}-month total per provider and type ({currency})"
        charts.append(Chart("total", caption, _svg(_totals_spec(data, currency, comparison.months))))
    return charts


def _offers_spec(data: list[dict[str, str]], currency: str) -> dict[str, Any]:
    spec = _base_spec(data, ["monthly"])
    spec.update(
        {
            "height": {"step": 22},
            "mark": {"type": "tick", "thickness": 2, "opacity": 0.7},
            "encoding": {
                "x": {"field": "monthly_value", "type": "quantitative", "title": f"monthly price ({currency})"},
                "y": {"field": "provider", "type": "nominal", "title": None},
                "color": {"field": "type", "type": "nominal", "title": "number type", **_TYPES},
            },
        }
    )
    return spec


def _totals_spec(data: list[dict[str, str]], currency: str, months: int) -> dict[str, Any]:
    spec = _base_spec(data, ["total"])
    spec["transform"].append({"calculate": "datum.provider + ' · ' + datum.type", "as": "label"})
    spec.update(
        {
            "height": {"step": 16},
            "mark": {"type": "bar"},
            "encoding": {
                "x": {"field": "total_value", "type": "quantitative", "title": f"{months}-month total ({currency})"},
                "y": {"field": "label", "type": "nominal", "title": None, "sort": "x"},
                "color": {"field": "type", "type": "nominal", "title": "number type", **_TYPES},
            },
        }
    )
    return spec


def _report_context(report: ProviderReport, **extra: Any) -> dict[str, Any]:
    """A provider's report as a report's table shows it (its error and notes are vendor text: escaped)."""
    said = [report.error] if report.error and report.status.failed else []
    return {
        "provider": report.provider,
        "status": report.status.value,
        "failed": report.status.failed,
        "truncated": report.truncated,
        "offers": report.offers,
        "elapsed_ms": report.elapsed_ms,
        "said": " ".join([*said, *report.notes[:3]]),
        **extra,
    }


# -- the owned numbers -------------------------------------------------------------------------------------


def owned_html(numbers: Sequence[OwnedNumber], result: OwnedResult, today: date | None = None) -> str:
    """The owned numbers as one self-contained HTML document: spend, renewals coming up, unrouted numbers."""
    today = today or datetime.now(UTC).date()
    summary = result.summary
    days = summary.renewing_within
    spend = [
        {
            "provider": pid,
            "numbers": h.numbers,
            "monthly": _amounts(h.monthly),
            "price_unknown": h.price_unknown,
            "unrouted": h.unrouted,
            "renewing_soon": h.renewing_soon,
        }
        for pid, h in summary.by_provider.items()
    ]
    renewing = sorted(
        (n for n in numbers if n.renews_within(days, today)), key=lambda n: (n.next_renewal, n.provider, n.e164)
    )
    unrouted = [n for n in numbers if n.routed is False]
    converted = summary.converted_monthly_total
    return _page(
        "owned.html.j2",
        "Numbers owned",
        f"{sum(h.numbers for h in summary.by_provider.values())} numbers across {len(summary.by_provider)} providers.",
        status=result.status.value,
        shown=len(numbers),
        days=days,
        today=today.isoformat(),
        spend=spend,
        total=_amounts(summary.monthly_total),
        converted=None if converted is None else f"{converted.amount} {converted.currency}",
        charts=_owned_charts(result, renewing, today),
        sections=[
            {"id": "renewals", "title": f"Renewals in the next {days} days", "numbers": _numbers(renewing)},
            {"id": "unrouted", "title": "Unrouted numbers", "numbers": _numbers(unrouted)},
        ],
        providers=[_report_context(p) for p in result.providers],
    )


def _amounts(amounts: Mapping[str, Decimal]) -> str:
    return " + ".join(f"{amount} {code}" for code, amount in sorted(amounts.items())) or "nothing priced"


def _numbers(numbers: Iterable[OwnedNumber]) -> list[dict[str, Any]]:
    return [
        {
            "provider": n.provider,
            "e164": n.e164,
            "country": n.country,
            "number_type": n.number_type.value,
            "monthly": "?" if n.monthly_price is None else f"{n.monthly_price.amount} {n.monthly_price.currency}",
            "renews": "?" if n.next_renewal is None else n.next_renewal.isoformat(),
            "routed": {True: "yes", False: "no", None: "?"}[n.routed],
            "status": n.status.value + (f" ({n.vendor_status})" if n.vendor_status else ""),
            "holder": " / ".join(x for x in (n.sub_account, n.account) if x),
        }
        for n in numbers
    ]


def _owned_charts(result: OwnedResult, renewing: Sequence[OwnedNumber], today: date) -> list[Chart]:
    """Monthly spend per provider (one chart per currency), and the renewals of the coming weeks by day."""
    charts = []
    by_currency: dict[str, list[dict[str, str]]] = {}
    for pid, holdings in result.summary.by_provider.items():
        for code, amount in holdings.monthly.items():
            by_currency.setdefault(code, []).append({"provider": pid, "monthly": format(amount, "f")})
    for code, data in sorted(by_currency.items()):
        spec = _base_spec(data, ["monthly"])
        spec.update(
            {
                "height": {"step": 22},
                "mark": {"type": "bar"},
                "encoding": {
                    "x": {"field": "monthly_value", "type": "quantitative", "title": f"monthly spend ({code})"},
                    "y": {"field": "provider", "type": "nominal", "title": None, "sort": "-x"},
                },
            }
        )
        charts.append(Chart("spend", f"Monthly spend by provider ({code})", _svg(spec)))
    horizon = today + timedelta(weeks=_RENEWAL_WEEKS)
    coming = [
        {"provider": n.provider, "day": max(n.next_renewal, today).isoformat()}
        for n in renewing
        if n.next_renewal is not None and n.next_renewal <= horizon
    ]
    if coming:
        spec = _base_spec(coming, [])
        spec.update(
            {
                "height": 180,
                "mark": {"type": "bar"},
                "encoding": {
                    "x": {"field": "day", "type": "ordinal", "title": "renews on (overdue: today)"},
                    "y": {
                        "aggregate": "count",
                        "type": "quantitative",
                        "title": "numbers",
                        "axis": {"tickMinStep": 1, "format": "d"},
                    },
                    "color": {"field": "provider", "type": "nominal"},
                },
            }
        )
        charts.append(Chart("renewals", "Renewals coming up, by day", _svg(spec)))
    return charts
