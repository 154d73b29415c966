"""Which stock sources this install reads, from STOCK_SOURCE and the source settings.

STOCK_SOURCE is a list separated by commas or semicolons:

    csv:/data/stock.csv          a CSV export, re-read at each check
    xlsx:/data/stock.xlsx        an XLSX export
    file:/data/exports/          a file, or a folder of exports where the newest file wins
    tiktok                       every TikTok shop configured with TIKTOK_* variables
    sql                          STOCK_SQL_URL + STOCK_SQL_QUERY

`sql` and `tiktok` are also read when their settings are present without being listed.
Pushes to POST /api/stock are not polled: they are written as they arrive (source `push`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from bot.config import Settings
from bot.sources import SourceError, StockRow, reason_of

PUSH_SOURCE = "push"
FILE_KINDS = ("csv", "xlsx", "file")


@dataclass
class Source:
    name: str  # shown in Slack and /stock status, stored with each row it read
    read: Callable[[], Iterable[StockRow]]  # everything, or SourceError: never a partial read
    # A cheap digest of the content (files): unchanged content is not written again.
    fingerprint: Optional[Callable[[], str]] = None
    # Marketplace orders since a time (TikTok): feeds daily sales. None for plain stock sources.
    sync_sales: Optional[Callable[..., object]] = field(default=None)


@dataclass
class SourcePlan:
    sources: list[Source]
    errors: list[tuple[str, str]]  # (name, problem) for entries that cannot even be set up


def split_specs(raw: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;]", raw) if part.strip()]


def file_source(kind: str, target: str, settings: Settings) -> Source:
    from bot.sources import files

    name = f"{kind}:{target}"
    mapping = files.parse_column_mapping(settings.stock_columns) if settings.stock_columns else None
    return Source(name=name, read=lambda: files.read_stock_source(target, mapping).rows,
                  fingerprint=lambda: files.source_fingerprint(target))


def sql_source(settings: Settings) -> Source:
    from bot.sources.sql_source import read_sql

    return Source(name="sql", read=lambda: read_sql(settings.stock_sql_url, settings.stock_sql_query))


def plan_sources(settings: Settings, engine=None) -> SourcePlan:
    """Turn the settings into sources. A bad entry is reported, the others still run."""
    sources: list[Source] = []
    errors: list[tuple[str, str]] = []
    specs = split_specs(settings.stock_source)
    kinds = {spec.partition(":")[0].strip().lower() for spec in specs}
    if settings.stock_sql_url and "sql" not in kinds:
        specs.append("sql")
    if dict(settings.tiktok_env).get("TIKTOK_APP_KEY") and "tiktok" not in kinds:
        specs.append("tiktok")
    for spec in specs:
        kind, _, target = spec.partition(":")
        kind, target = kind.strip().lower(), target.strip()
        try:
            if kind in FILE_KINDS:
                if not target:
                    example = f"{kind}:/data/stock.{'csv' if kind != 'xlsx' else kind}"
                    raise SourceError(f"`{spec}` needs a path, e.g. {example}", "spec_needs_path", spec=spec,
                                      example=example)
                sources.append(file_source(kind, target, settings))
            elif kind == "sql":
                sources.append(sql_source(settings))
            elif kind == "tiktok":
                from bot.sources.tiktok_source import tiktok_sources

                sources.extend(tiktok_sources(settings, engine))
            else:
                raise SourceError(f"unknown stock source `{spec}` (use csv:PATH, xlsx:PATH, file:PATH, "
                                  f"tiktok or sql)", "unknown_source", spec=spec)
        except SourceError as exc:
            errors.append((spec, reason_of(exc)))  # the Reason: worded in the reader's language
    return SourcePlan(sources, errors)
