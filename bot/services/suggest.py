"""'Did you mean': the ids closest to one that matched nothing.

An argument *looks like an id* when it is one lowercase token of letters and digits with at
least one dash (`nope-topic`, `uk-us-trade`): that is the shape of every id Herald makes, and
not how anyone writes a search query. Such an argument that names nothing is answered with
the closest ids instead of being taken as something new.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from sqlmodel import Session, col, or_, select

from bot.services.deadlines import visible_to
from bot.store.models import Deadline, Topic

ID_SHAPE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")
MAX_SUGGESTIONS = 3
CUTOFF = 0.6


def looks_like_id(text: str) -> bool:
    return bool(ID_SHAPE.match(text.strip()))


def closest(word: str, candidates: Iterable[str], n: int = MAX_SUGGESTIONS) -> list[str]:
    """Ids that start with the word first (it was cut short), then the most similar ones."""
    pool = sorted(set(candidates))
    prefixed = [c for c in pool if c.startswith(word) and c != word]
    similar = difflib.get_close_matches(word, pool, n=n, cutoff=CUTOFF)
    ordered = list(dict.fromkeys([*prefixed, *similar]))
    return ordered[:n]


def deadline_ids_near(session: Session, chat_id: int, word: str) -> list[str]:
    """The closest ids among the deadlines this chat can see."""
    slugs = session.exec(select(Deadline.slug).where(visible_to(chat_id))).all()
    return closest(word, slugs)


def topic_ids_near(session: Session, chat_id: int, word: str) -> list[str]:
    """The closest ids among the topics this chat can follow."""
    slugs = session.exec(
        select(Topic.slug).where(
            or_(col(Topic.origin) == "config", col(Topic.owner_chat_id) == chat_id)
        )
    ).all()
    return closest(word, slugs)
