"""Why a result is empty or shorter than it could be, and the option that would change it.

Every line here goes to stderr: how many offers were left out by what (price caps, missing exchange
rates, number filters, the limit), and what to write instead. A prefix that starts with the
country's calling code or its trunk prefix (``1212`` for US, ``020`` for GB) gets a hint too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import phonenumbers

from numbroker._models import SearchQuery
from numbroker._pricing import ExchangeRates
from numbroker._reports import SearchResult

__all__ = ["explain", "prefix_hint", "shortened"]

_NUMBER_FILTERS = {
    "number_type": "not of the --type asked for",
    "number_type_unknown": "of a type the vendor did not state (drop --type to see them)",
    "capabilities": "without every --capability asked for",
    "capabilities_unknown": "whose vendor does not state capabilities (drop --capability to see them)",
    "prefix": "not starting with the --prefix",
    "contains": "not containing the --contains digits",
    "country": "filed under another country",
}


def prefix_hint(query: SearchQuery) -> str | None:
    """A hint when ``query.prefix`` starts with the country's calling code or trunk prefix, else None.

    Numbers are matched after the country code, in their international form: US ``1212`` means
    ``+11212…`` (use ``212``), GB ``020`` means ``+44020…`` (use ``20``).
    """
    prefix = query.prefix
    if not prefix:
        return None
    code = str(query.calling_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(query.country)
    trunk = metadata.national_prefix if metadata is not None else None
    if prefix.startswith(code) and len(prefix) > len(code):
        return (
            f"--prefix {prefix} starts with {query.country}'s country code {code}; the prefix is what follows "
            f"it (+{code}…): did you mean --prefix {prefix[len(code) :]}?"
        )
    if trunk and prefix.startswith(trunk) and len(prefix) > len(trunk):
        return (
            f"--prefix {prefix} starts with the trunk prefix {trunk} that {query.country} numbers drop after "
            f"+{code}: did you mean --prefix {prefix[len(trunk) :]}?"
        )
    return None


def shortened(
    shown: Mapping[str | None, int], totals: Mapping[str | None, int], *, limit: int | None, default: bool
) -> str | None:
    """The line saying a table or ``--limit`` kept only the best of each ranking, or None when nothing was cut."""
    cut = {key: (shown.get(key, 0), total) for key, total in totals.items() if shown.get(key, 0) < total}
    if not cut:
        return None
    parts = ", ".join(f"{n} of {total}" + (f" in {key}" if key else "") for key, (n, total) in cut.items())
    per = " of each currency" if len(totals) > 1 else ""
    if default:
        return f"showing the best {limit}{per} ({parts}): add --all to see every offer, or --limit N"
    return f"--limit {limit} kept the best {limit}{per} ({parts}); raise it or drop it to see more"


def explain(result: SearchResult, query: SearchQuery, *, rates: ExchangeRates | None) -> list[str]:
    """Lines for stderr on what left offers out of ``result`` (price caps, exchange rates, number filters)."""
    lines: list[str] = []
    caps = _price_caps(result.excluded, query)
    if caps:
        lines.append(f"{sum(result.excluded.values())} offers excluded by price caps: {caps}")
    if result.unconverted:
        currencies = sorted(
            {p.currency for o in result.unconverted for p in (o.setup_price, o.monthly_price) if p is not None}
            - {result.currency}
        )
        lines.append(_unconverted(currencies, len(result.unconverted), result.currency, rates))
    if not result.offers:
        filtered: Counter[str] = Counter()
        for report in result.providers:
            filtered.update({k: v for k, v in report.excluded.items() if v})
        if filtered:
            parts = "; ".join(f"{n} {_NUMBER_FILTERS.get(k, k)}" for k, n in filtered.most_common())
            lines.append(f"{sum(filtered.values())} offers did not match the number filters: {parts}")
        hint = prefix_hint(query)
        if hint:
            lines.append(hint)
        if not lines and any(r.status.value == "empty" for r in result.providers):
            lines.append(f"no provider offered a number for {query.country} matching the search")
    return lines


def _price_caps(excluded: Mapping[str, int], query: SearchQuery) -> str:
    parts = []
    for kind, option, cap in (
        ("monthly", "--max-monthly", query.max_monthly_price),
        ("setup", "--max-setup", query.max_setup_price),
    ):
        over = excluded.get(f"over_{kind}_cap", 0)
        apart = excluded.get(f"{kind}_cap_not_comparable", 0)
        unknown = excluded.get(f"{kind}_price_unknown", 0)
        shown = f"{cap.amount} {cap.currency}" if cap is not None else "the cap"
        if over:
            parts.append(f"{over} over {option} {shown} (raise it to include them)")
        if apart:
            currency = cap.currency if cap is not None else "the cap's currency"
            parts.append(
                f"{apart} priced in other currencies than {currency}, which cannot be compared with it without "
                f"an exchange rate (add --fx-rates with their rates, or write {option} in their currency)"
            )
        if unknown:
            parts.append(f"{unknown} without a {kind} price (drop {option} to include them)")
    return "; ".join(parts)


def _unconverted(currencies: Sequence[str], count: int, target: str | None, rates: ExchangeRates | None) -> str:
    listed = ", ".join(currencies) or "their currency"
    if rates is None:
        fix = "add --fx-rates"
    else:
        missing = [c for c in (target, *currencies) if c is not None and rates.rate(c) is None]
        fix = f"add rates for {', '.join(missing)} to the --fx-rates file"
    return f"{count} offers in {listed} left out: no exchange rate to {target}: {fix} to include them"
