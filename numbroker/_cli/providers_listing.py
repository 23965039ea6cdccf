"""Every known provider as ``numbroker providers`` lists it: a row of facts each, as JSON or as a table."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich import box
from rich.table import Table

from numbroker._types import QueryFilter
from numbroker.adapters import Provider

__all__ = ["FILTER_LEGEND", "provider_rows", "providers_json", "providers_table"]

FILTER_LEGEND = (
    "native: the vendor filters; emulated: numbroker filters client-side; "
    "unsupported: the vendor gives no data, matching offers are excluded as unknown"
)
"""What the table's filter kinds mean (on stderr, under it)."""


def provider_rows(classes: Mapping[str, type[Provider]], env: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per provider: its id and name, whether ``env`` configures it, its paging and how it filters."""
    return [
        {
            "id": pid,
            "name": cls.display_name,
            "configured": cls.is_configured(env),
            "missing_env": cls.missing_env(env),
            "env_vars": list(cls.env_vars()),
            "paging": cls.paging,
            "sandbox": bool(cls.sandbox),
            "filters": {f.value: cls.filter_support.get(f, "emulated") for f in QueryFilter},
        }
        for pid, cls in classes.items()
    ]


def providers_json(rows: list[dict[str, Any]]) -> str:
    """The rows as one indented JSON document (non-ASCII escaped)."""
    return json.dumps(rows, indent=2)


def providers_table(rows: list[dict[str, Any]]) -> Table:
    """The rows as a table: its filters grouped by how they are applied."""
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("configured", overflow="fold", ratio=2)
    table.add_column("paging", no_wrap=True)
    table.add_column("filters", overflow="fold", ratio=4)
    for row in rows:
        configured = "yes" if row["configured"] else "no: set " + ", ".join(row["missing_env"])
        by_kind: dict[str, list[str]] = {}
        for name, kind in row["filters"].items():
            by_kind.setdefault(str(kind), []).append(str(name))
        text = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in by_kind.items())
        table.add_row(str(row["id"]), configured, str(row["paging"]), text)
    return table
