"""The Plivo adapter's country-name table is pycountry's ISO 3166-1 data, regenerated, never typed by hand."""

from __future__ import annotations

import json

import pycountry

from numbroker_providers.plivo._countries import COUNTRY_NAMES


def maintained() -> dict[str, tuple[str, ...]]:
    """Each alpha-2 code's ``name``, then ``common_name`` and ``official_name`` where pycountry has them."""
    table: dict[str, tuple[str, ...]] = {}
    for country in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        names = [country.name]
        for extra in (getattr(country, "common_name", None), getattr(country, "official_name", None)):
            if extra and extra not in names:
                names.append(extra)
        table[country.alpha_2] = tuple(names)
    return table


def render(table: dict[str, tuple[str, ...]]) -> str:
    """The table as the lines of ``_countries.py`` (``ruff format`` lays them out)."""
    rows = [
        f"        {json.dumps(code)}: ({', '.join(json.dumps(n, ensure_ascii=False) for n in names)},),"
        for code, names in table.items()
    ]
    return "\n".join(rows)


def test_country_names_match_pycountry() -> None:
    """The built-in table equals pycountry's maintained data (regenerate _countries.py from `render` if not)."""
    table = maintained()

    assert table == dict(COUNTRY_NAMES), "ISO 3166-1 data changed: regenerate _countries.py:\n" + render(table)
    assert ("United States", "United States of America") == COUNTRY_NAMES["US"]
