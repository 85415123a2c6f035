"""Everything /deadline shows about one deadline, gathered in one read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.services import deadlines as deadline_ops
from bot.store.models import DeadlineItem, DeadlineSubscription, Item

LATEST_NEWS_SHOWN = 5


@dataclass(frozen=True)
class ChangeLine:
    """One entry of the deadline's history: who changed what, when."""

    at: datetime
    kind: str
    old_value: str | None
    new_value: str | None
    actor: str | None


@dataclass(frozen=True)
class NewsLine:
    """A news item linked to the deadline."""

    title: str
    link: str | None
    source: str | None


@dataclass(frozen=True)
class DeadlineDetails:
    """The facts /deadline shows; `bot.render.deadline_replies` words them."""

    slug: str
    title: str
    due_at: datetime
    timezone: str
    all_day: bool
    status: str
    origin: str
    url: str | None
    description: str | None
    rule: str | None
    offsets: Sequence[str]
    own_offsets: bool
    followed: bool
    followers: int
    history: Sequence[ChangeLine]
    news: Sequence[NewsLine] = ()


def deadline_details(session: Session, slug: str, chat_id: int) -> DeadlineDetails:
    """Raise DeadlineNotFound when the chat cannot see a deadline with that id."""
    deadline = deadline_ops.find(session, slug, chat_id)
    assert deadline.id is not None
    subscription = session.exec(
        select(DeadlineSubscription).where(
            DeadlineSubscription.deadline_id == deadline.id, DeadlineSubscription.chat_id == chat_id
        )
    ).first()
    followers = session.exec(
        select(func.count())
        .select_from(DeadlineSubscription)
        .where(DeadlineSubscription.deadline_id == deadline.id)
    ).one()
    news = session.exec(
        select(Item)
        .join(DeadlineItem, col(DeadlineItem.item_id) == Item.id)
        .where(DeadlineItem.deadline_id == deadline.id)
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(LATEST_NEWS_SHOWN)
    ).all()
    own = subscription is not None and subscription.remind is not None
    offsets = subscription.remind if own and subscription else deadline.remind
    return DeadlineDetails(
        slug=deadline.slug,
        title=deadline.title,
        due_at=deadline.due_at,
        timezone=deadline.timezone,
        all_day=deadline.all_day,
        status=deadline.status,
        origin=deadline.origin,
        url=deadline.url,
        description=deadline.description,
        rule=deadline.rule,
        offsets=list(offsets or []),
        own_offsets=own,
        followed=subscription is not None,
        followers=int(followers),
        history=[
            ChangeLine(c.at, c.kind, c.old_value, c.new_value, c.actor)
            for c in deadline_ops.history(session, deadline.id)
        ],
        news=[NewsLine(i.title, i.link, i.source_name) for i in news],
    )
