"""News sources in the store: config sources by a stable key, sources added from chats or OPML."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from bot.config import SourceConfig
from bot.domain.source_kinds import SourceSpec, SourceSpecError, source_spec
from bot.domain.ssrf import Resolver, UnsafeAddress, check_url, system_resolver
from bot.domain.text import ReaderError
from bot.store.models import Source, utcnow

log = logging.getLogger(__name__)

DEFAULT_EVERY_S = 900
MAX_KEY_CHARS = 2000


class SourceRefused(ValueError):
    """A source a chat may not add: its `url` and why (`reason`, the address check's refusal);
    bot.render.news words the refusal for the chat."""

    def __init__(self, url: str, reason: str | ReaderError) -> None:
        super().__init__(f"{url} is refused: {reason}")
        self.url, self.reason = url, reason


@dataclass(frozen=True, slots=True)
class NewSource:
    """A source to add: what to fetch and how often, with its display name."""

    spec: SourceSpec
    name: str | None = None
    every_s: int = DEFAULT_EVERY_S


@dataclass(frozen=True, slots=True)
class SourceSync:
    created: int
    updated: int
    retired: int


def source_key(spec: SourceSpec) -> str:
    """The identity of a source: its kind and the target as first written (a 301 changes
    `Source.url`, never the key)."""
    key = f"{spec.kind}:{spec.url}"
    if spec.select:
        key += f" select={spec.select}"
    return key[:MAX_KEY_CHARS]


def spec_of(config: SourceConfig) -> SourceSpec:
    """The SourceSpec of a config entry (raises SourceSpecError)."""
    return source_spec(
        url=config.url,
        google_news=config.google_news,
        gdelt=config.gdelt,
        page=config.page,
        select=config.select,
        language=config.language,
        region=config.region,
    )


def sync_sources(session: Session, configs: Sequence[SourceConfig], now: datetime) -> SourceSync:
    """Make the config's sources active Source rows and retire config sources no longer listed.

    A source keeps its row (health, ETag, items) for as long as its key stays in the config.
    """
    existing = {
        s.key: s for s in session.exec(select(Source).where(col(Source.origin) == "config"))
    }
    created = updated = 0
    for config in configs:
        try:
            spec = spec_of(config)
        except SourceSpecError as exc:
            log.warning("config source skipped: %s", exc)
            continue
        key = source_key(spec)
        row = existing.pop(key, None) or _by_key(session, key)
        if row is None:
            row = _new_row(spec, key, "config", None, trusted=True, now=now)
            created += 1
        else:
            updated += 1
            if not row.active or row.every_s != config.every:
                row.next_check_at = min(row.next_check_at, now)
        row.origin, row.trusted, row.active = "config", True, True
        row.every_s = config.every
        row.name = config.name or row.name
        session.add(row)
    retired = 0
    for stale in existing.values():
        if stale.active:
            stale.active = False
            session.add(stale)
            retired += 1
    return SourceSync(created, updated, retired)


def _by_key(session: Session, key: str) -> Source | None:
    return session.exec(select(Source).where(Source.key == key)).first()


def _new_row(
    spec: SourceSpec,
    key: str,
    origin: str,
    owner_chat_id: int | None,
    *,
    trusted: bool,
    now: datetime,
    name: str | None = None,
    every_s: int = DEFAULT_EVERY_S,
) -> Source:
    return Source(
        key=key,
        kind=spec.kind,
        url=spec.url,
        select=spec.select,
        name=name[:300] if name else None,
        origin=origin,
        owner_chat_id=owner_chat_id,
        trusted=trusted,
        every_s=every_s,
        next_check_at=now,
        created_at=now,
    )


def owned_sources(session: Session, chat_id: int) -> int:
    """How many active sources the chat imported (what its limit counts)."""
    query = (
        select(func.count())
        .select_from(Source)
        .where(Source.owner_chat_id == chat_id, col(Source.active))
    )
    return int(session.exec(query).one())


def add_sources(
    session: Session,
    sources: Sequence[NewSource],
    *,
    origin: str,
    trusted: bool,
    owner_chat_id: int | None = None,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Add sources not yet in the store (by key); returns (added, already there)."""
    now = now or utcnow()
    added = present = 0
    for new in sources:
        key = source_key(new.spec)
        row = _by_key(session, key)
        if row is not None:
            present += 1
            if not row.active:
                row.active, row.next_check_at = True, now
                session.add(row)
            continue
        session.add(
            _new_row(
                new.spec,
                key,
                origin,
                owner_chat_id,
                trusted=trusted,
                now=now,
                name=new.name,
                every_s=new.every_s,
            )
        )
        session.flush()
        added += 1
    return added, present


async def check_chat_source(url: str, resolver: Resolver = system_resolver) -> None:
    """Refuse (SourceRefused) a URL a chat may not add: not http(s), or not public."""
    try:
        await check_url(url, resolver)
    except UnsafeAddress as exc:
        raise SourceRefused(url[:200], exc) from None


def all_sources(session: Session) -> list[Source]:
    """Every active source, for /sources and `herald sources export`, in a stable order."""
    return list(
        session.exec(select(Source).where(col(Source.active)).order_by(col(Source.id))).all()
    )
