"""Proposals: deadlines waiting for a person's click (a typed /add, or one found in the news).

Nothing becomes a deadline until someone accepts it; the same proposal is made to a chat once
(unique `(chat_id, dedup_key)`), so a deadline found again in other stories is not repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.domain.offsets import due_from_date
from bot.domain.slugs import first_free, slug_words, slugify
from bot.services import deadlines as deadline_ops
from bot.services.deadlines import DeadlineNotFound, DeadlineSpec
from bot.services.outbox import PRIORITY_NORMAL, NewAlert, enqueue
from bot.store.models import Chat, Deadline, Proposal, utcnow

SLUG_MAX_CHARS = 48


class ProposalGone(LookupError):
    """The proposal was already decided, or belongs to another chat."""


def deadline_slug(title: str) -> str:
    """'UK–US trade deal!' -> 'uk-us-trade-deal' (ASCII, dashes, bounded)."""
    return slugify(slug_words(title), max_chars=SLUG_MAX_CHARS, fallback="deadline")


def unique_slug(session: Session, title: str, owner_chat_id: int | None = None) -> str:
    """A slug for a new deadline of `owner_chat_id` (None: global), suffixed -2, -3… when taken.

    Only ids the owner can see count (the global ones and its own), so an id never reveals
    what another chat has; a chat's id never shadows a global one.
    """
    base = deadline_slug(title)
    taken = session.exec(
        select(Deadline.slug)
        .where(col(Deadline.slug).startswith(base))
        .where(deadline_ops.visible_to(owner_chat_id))
    ).all()
    return first_free(base, set(taken))


def _insert_ignore(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Proposal)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["chat_id", "dedup_key"])
        .returning(col(Proposal.id))
    )
    return [int(row[0]) for row in session.execute(statement).all()]


def propose_add(session: Session, chat_id: int, spec: DeadlineSpec, actor: str) -> Proposal:
    """Keep a typed /add until the chat confirms it."""
    proposal = Proposal(
        chat_id=chat_id,
        kind="add",
        dedup_key=f"add:{utcnow().timestamp()}:{spec.title}"[:200],
        payload={
            "title": spec.title,
            "due_at": spec.due_at.isoformat(),
            "timezone": spec.timezone,
            "all_day": spec.all_day,
            "actor": actor,
        },
    )
    session.add(proposal)
    session.flush()
    return proposal


@dataclass(frozen=True)
class NewsFinding:
    """A deadline (or a change of one) found in a news item."""

    due: date
    what: str
    sentence: str
    item: dict[str, Any]  # item_id, title, link
    timezone: str
    moved_deadline_slug: str | None = None
    moved_deadline_title: str | None = None
    suggestion: bool = False  # a config/calendar deadline: told to bot admins, never moved


def admin_chats(session: Session, admins: Sequence[int]) -> list[int]:
    """The bot admins' private chats with Herald that are registered and active."""
    if not admins:
        return []
    query = select(Chat.id).where(col(Chat.id).in_(list(admins)), col(Chat.active))
    return [int(chat_id) for chat_id in session.exec(query).all()]


def propose_from_news(
    session: Session, chat_ids: list[int], finding: NewsFinding, *, key: str | None = None
) -> int:
    """Offer a found deadline to chats, once per chat and key; returns how many were new.

    The default key is the thing and its date; callers pass a coarser one (e.g. topic and
    date) so the same deadline worded differently in other stories is not offered again.
    """
    if key is None and finding.moved_deadline_slug:
        key = f"news:move:{finding.moved_deadline_slug}:{finding.due.isoformat()}"
    elif key is None:
        key = f"news:{deadline_slug(finding.what)}:{finding.due.isoformat()}"
    payload = {
        "date": finding.due.isoformat(),
        "what": finding.what,
        "sentence": finding.sentence,
        "item": finding.item,
        "timezone": finding.timezone,
        "change": ("suggested" if finding.suggestion else "moved")
        if finding.moved_deadline_slug
        else None,
        "deadline_slug": finding.moved_deadline_slug,
        "deadline_title": finding.moved_deadline_title,
    }
    kind = "news_deadline"
    if finding.moved_deadline_slug:
        kind = "news_suggest" if finding.suggestion else "news_move"
    rows = [
        {
            "chat_id": chat_id,
            "kind": kind,
            "dedup_key": key[:200],
            "payload": payload,
            "status": "pending",
            "created_at": utcnow(),
        }
        for chat_id in chat_ids
    ]
    new_ids = _insert_ignore(session, rows)
    proposals = session.exec(select(Proposal).where(col(Proposal.id).in_(new_ids))).all()
    enqueue(
        session,
        [
            NewAlert(
                p.chat_id,
                f"proposal:{p.id}",
                "deadline_proposal",
                {**payload, "proposal_id": p.id},
                PRIORITY_NORMAL,
            )
            for p in proposals
        ],
    )
    return len(new_ids)


def _pending(session: Session, proposal_id: int, chat_id: int) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or proposal.chat_id != chat_id or proposal.status != "pending":
        raise ProposalGone(str(proposal_id))
    return proposal


def moved_deadline(session: Session, proposal_id: int, chat_id: int) -> Deadline | None:
    """The deadline a pending news "move" proposal to this chat would move, if it is one."""
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or proposal.chat_id != chat_id or proposal.kind != "news_move":
        return None
    try:
        return deadline_ops.find(session, str(proposal.payload["deadline_slug"]), chat_id)
    except DeadlineNotFound:
        return None


def ignore(session: Session, proposal_id: int, chat_id: int) -> Proposal:
    proposal = _pending(session, proposal_id, chat_id)
    proposal.status = "ignored"
    proposal.decided_at = utcnow()
    session.add(proposal)
    return proposal


def accept(session: Session, proposal_id: int, chat_id: int, actor: str) -> tuple[Deadline, int]:
    """Carry out a proposal: create (and follow) the deadline, or move the tracked one.

    Returns the deadline and how many alerts the change wrote.
    """
    proposal = _pending(session, proposal_id, chat_id)
    if proposal.kind == "news_suggest":  # a config/calendar deadline changes only there
        raise ProposalGone(str(proposal_id))
    proposal.status = "accepted"
    proposal.decided_at = utcnow()
    session.add(proposal)
    payload = proposal.payload
    if proposal.kind == "news_move":
        deadline = deadline_ops.find(session, str(payload["deadline_slug"]), chat_id)
        due = due_from_date(date.fromisoformat(payload["date"]), deadline.timezone)
        return deadline, deadline_ops.move(session, deadline, due, all_day=True, actor=actor)
    if proposal.kind == "add":
        title = str(payload["title"])
        spec = DeadlineSpec(
            slug=unique_slug(session, title, chat_id),
            title=title,
            due_at=datetime.fromisoformat(payload["due_at"]),
            timezone=str(payload["timezone"]),
            all_day=bool(payload["all_day"]),
        )
        source_item = None
    else:
        title = str(payload["what"])
        zone = str(payload["timezone"])
        spec = DeadlineSpec(
            slug=unique_slug(session, title, chat_id),
            title=title[:1].upper() + title[1:],
            due_at=due_from_date(date.fromisoformat(payload["date"]), zone),
            timezone=zone,
            all_day=True,
            url=(payload.get("item") or {}).get("link"),
        )
        source_item = (payload.get("item") or {}).get("item_id")
    deadline = deadline_ops.create(
        session,
        spec,
        origin="chat" if proposal.kind == "add" else "news",
        owner_chat_id=chat_id,
        actor=actor,
    )
    deadline.source_item_id = source_item
    deadline_ops.follow(session, chat_id, deadline)
    return deadline, 0
