"""Scenario 2: normalization throughput of each adapter against its two floors.

For every built-in adapter, the valid records of its sandbox inventory (round-tripped through
numbroker's JSON loader, so prices are Decimals exactly as on the wire) are pushed through the
adapter's ``normalize_record`` (raw vendor dict → ``AvailableNumber``: the adapter's record model,
money converters, E.164 parsing and validation, the offer model). Baselines on the same numbers, in
the same run, interleaved with the subject:

* **phonenumbers**: ``phonenumbers.parse`` + ``is_valid_number`` of each offer's number, the work no
  normalization can skip. Figure: normalization throughput / phonenumbers throughput (target ≥ 1: every
  adapter's whole normalization at least as fast as phonenumbers' parse and validation alone).
* **pydantic**: ``AvailableNumber.model_validate`` of the finished field values with the
  pre-validated context (what ``make_offer`` hands pydantic). Figure: normalization throughput /
  pydantic-alone throughput (informational: how much of the cost is the offer model itself).
"""

from __future__ import annotations

import json
import time
from typing import Any

import phonenumbers
from _harness import Figure, ScenarioResult, median, paired_ratios

from numbroker import AvailableNumber, Provider, RejectedRecord, SearchQuery
from numbroker._models import _PREVALIDATED
from numbroker._registry import get_provider_class
from numbroker.adapters._json import loads
from numbroker.sandbox import IN_PROCESS_ORIGIN, Sandbox, create_sandboxes

FIELDS = tuple(AvailableNumber.model_fields)


def _inputs(sandbox: Sandbox, provider: Provider) -> tuple[list[tuple[Any, SearchQuery]], list[AvailableNumber]]:
    queries: dict[str, SearchQuery] = {}
    items: list[tuple[Any, SearchQuery]] = []
    for record in sandbox.records:
        if not record.expected_valid:
            continue
        query = queries.setdefault(record.country, SearchQuery(country=record.country))
        items.append((loads(provider.id, json.dumps(record.raw).encode()), query))
    offers = []
    for record, query in items:
        result = provider.normalize_record(record, query)
        if isinstance(result, RejectedRecord):
            raise RuntimeError(f"{provider.id}: a valid sandbox record was rejected: {result}")
        offers.append(result)
    return items, offers


def _normalize(provider: Provider, items: list[tuple[Any, SearchQuery]]) -> None:
    for record, query in items:
        provider.normalize_record(record, query)


def _phonenumbers(numbers: list[str]) -> None:
    for number in numbers:
        phonenumbers.is_valid_number(phonenumbers.parse(number, None))


def _pydantic(values: list[dict[str, Any]]) -> None:
    for data in values:
        AvailableNumber.model_validate(data, context=_PREVALIDATED)


def _timed(fn: Any, *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def run(quick: bool) -> ScenarioResult:
    """Run the scenario (quick: ~500 records per adapter, 3 repeats; full: ~3000, 9 repeats)."""
    result = ScenarioResult("normalize")
    size = 500 if quick else 3000
    repeats = 3 if quick else 9
    sandboxes = create_sandboxes(seed=2, size=size)
    for pid, sandbox in sandboxes.items():
        provider = get_provider_class(pid)(env=sandbox.env, base_url=IN_PROCESS_ORIGIN + sandbox.base_path)
        items, offers = _inputs(sandbox, provider)
        numbers = [o.e164 for o in offers]
        values = [{name: getattr(o, name) for name in FIELDS} for o in offers]
        subject: list[float] = []
        parse: list[float] = []
        pyd: list[float] = []
        _normalize(provider, items)  # warm-up (phonenumbers loads region metadata lazily)
        for _ in range(repeats):
            subject.append(_timed(_normalize, provider, items))
            parse.append(_timed(_phonenumbers, numbers))
            pyd.append(_timed(_pydantic, values))
        count = len(items)
        rate = count / median(subject)
        result.figures.append(
            Figure.bounded(
                f"{pid}: normalize / phonenumbers parse+valid",
                median(paired_ratios(parse, subject)),
                ">=",
                1.0,
                {
                    "offers_per_s": rate,
                    "phonenumbers_per_s": count / median(parse),
                    "records": count,
                    "min": round(min(paired_ratios(parse, subject)), 3),
                    "max": round(max(paired_ratios(parse, subject)), 3),
                },
                paired_ratios(parse, subject),
            )
        )
        result.figures.append(
            Figure(
                f"{pid}: normalize / pydantic model alone",
                median(paired_ratios(pyd, subject)),
                reference={"pydantic_per_s": count / median(pyd), "us_per_offer": 1e6 / rate},
                samples=paired_ratios(pyd, subject),
            )
        )
    return result
