"""`herald sources check|import|export`: the operator's view of the configured sources.

`check` fetches every source once, now, concurrently, through the poller's own parse and dedup
code, and prints one line per source: the configured ones, then those added by OPML import or
from chats (fetched as untrusted when they are). One source's failure of any kind is its own
line and never stops the others. It writes nothing: no alerts, no items,
no health (so the bot's baseline and back-off are untouched).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO, cast

from sqlalchemy.engine import Engine

from bot.config import Config
from bot.domain.opml import OpmlError, OpmlSource, parse_opml, write_opml
from bot.domain.source_kinds import SourceKind, SourceSpec, SourceSpecError
from bot.render.common import plural
from bot.services.sources import NewSource, add_sources, all_sources, source_key, spec_of
from bot.store.db import session_scope
from jobs.sources.digest import keyed_items
from jobs.sources.fetch import Fetcher
from jobs.sources.parse import ParseError
from jobs.sources.poll import DueSource, read_feed
from jobs.sources.storage import known_keys

EXIT_OK = 0
EXIT_FAILED = 1


@dataclass(frozen=True, slots=True)
class CheckLine:
    """One source's result: fetched and parsed, or why not."""

    url: str
    ok: bool
    error: str | None = None
    parsed: int = 0
    new: int = 0


def _due(spec: SourceSpec) -> DueSource:
    return DueSource(0, spec.kind, spec.url, spec.select, None, True, 0, None, None)


async def _check_one(
    engine: Engine, fetcher: Fetcher, spec: SourceSpec, *, trusted: bool = True
) -> CheckLine:
    try:
        result = await fetcher.fetch(spec.url, trusted=trusted)
        if result.error is not None:
            return CheckLine(spec.url, False, result.error.message)
        try:
            feed = read_feed(_due(spec), result, datetime.now(UTC))
        except ParseError as exc:
            return CheckLine(spec.url, False, exc.message)
        keyed = keyed_items(feed)
        with session_scope(engine) as session:
            new = len(keyed) - len(known_keys(session, keyed))
    except Exception as exc:  # one bad source is its own line, never the end of the check
        return CheckLine(spec.url, False, f"unexpected {type(exc).__name__}: {exc}"[:300])
    return CheckLine(spec.url, True, None, len(feed.items), new)


async def check_sources(config: Config, engine: Engine, fetcher: Fetcher) -> list[CheckLine]:
    """Check every source concurrently: config order, then stored ones (OPML, chats) by id."""
    lines: list[CheckLine | None] = []
    tasks = []
    configured: set[str] = set()
    for source in config.sources:
        try:
            spec = spec_of(source)
        except SourceSpecError as exc:
            lines.append(CheckLine(source.url or source.page or source.kind, False, str(exc)))
            continue
        configured.add(source_key(spec))
        lines.append(None)
        tasks.append(_check_one(engine, fetcher, spec))
    with session_scope(engine) as session:
        stored = [
            (SourceSpec(cast(SourceKind, row.kind), row.url, select=row.select), row.trusted)
            for row in all_sources(session)
            if row.key not in configured and row.origin != "config"
        ]
    for spec, trusted in stored:
        lines.append(None)
        tasks.append(_check_one(engine, fetcher, spec, trusted=trusted))
    done = iter(await asyncio.gather(*tasks))
    return [line if line is not None else next(done) for line in lines]


def print_check(lines: Sequence[CheckLine], out: TextIO, *, as_json: bool) -> int:
    """Print the lines (text or a JSON array); exit 0 when every source is fine, else 1."""
    if as_json:
        out.write(json.dumps([asdict(line) for line in lines], ensure_ascii=False) + "\n")
    else:
        for line in lines:
            if line.ok:
                out.write(f"ok    {line.url}  parsed {line.parsed}, new {line.new}\n")
            else:
                out.write(f"FAIL  {line.url}  {line.error}\n")
        failed = sum(not line.ok for line in lines)
        out.write(f"{len(lines) - failed} ok, {failed} failed\n")
    return EXIT_FAILED if any(not line.ok for line in lines) else EXIT_OK


async def run_check(config: Config, engine: Engine, out: TextIO, *, as_json: bool) -> int:
    async with Fetcher() as fetcher:
        lines = await check_sources(config, engine, fetcher)
    return print_check(lines, out, as_json=as_json)


def import_opml(engine: Engine, path: Path, out: TextIO) -> int:
    """Add an OPML file's sources (trusted, like config.yaml: the operator chose them)."""
    try:
        read = parse_opml(path.read_bytes())
    except (OSError, OpmlError) as exc:
        out.write(f"cannot import {path}: {exc}\n")
        return EXIT_FAILED
    news = [NewSource(s.spec, s.title) for s in read.sources]
    with session_scope(engine) as session:
        added, present = add_sources(session, news, origin="opml", trusted=True)
    out.write(
        f"added {plural(added, 'source')}, {present} already there, {len(read.skipped)} skipped\n"
    )
    for reason in read.skipped:
        out.write(f"skipped: {reason}\n")
    return EXIT_OK


def export_opml(engine: Engine, path: Path, out: TextIO) -> int:
    """Write every active source to an OPML file, or to `out` when the path is `-`."""
    with session_scope(engine) as session:
        rows = all_sources(session)
    sources = []
    for row in rows:
        spec = SourceSpec(cast(SourceKind, row.kind), row.url, select=row.select)
        sources.append(OpmlSource(spec, row.name))
    if str(path) == "-":
        out.write(write_opml(sources).decode("utf-8"))
        return EXIT_OK
    try:
        path.write_bytes(write_opml(sources))
    except OSError as exc:
        out.write(f"cannot write {path}: {exc}\n")
        return EXIT_FAILED
    out.write(f"exported {plural(len(sources), 'source')} to {path}\n")
    return EXIT_OK
