"""Who may change what: one rule, decided from plain data (no I/O, tested as a table).

Every command and button that changes state asks `decide` (through
`bot.interface.common.allowed`). The inputs are what the handler already knows: who acts (their
user id, whether they are a bot admin from `config.yaml`'s `admins:`, whether they administer
the chat they act in; a message sent on behalf of the group itself counts as an admin's), the
kind of chat, what they act on, and how.

The rule, in order:
1. Bot-wide operations (sources, OPML import, status) are for bot admins only.
2. In a group, only its admins (and bot admins) change anything; anyone may in a private chat.
3. Items from `config.yaml` or a calendar change only there: no chat, not even a bot admin
   from a chat, moves, renames or cancels them (a news "move" for one is a suggestion to the
   bot admins).
4. An item a chat added (`chat`, `news`, `opml` origins) changes only from that chat. An item
   without an owner that is not from config or a calendar may be changed by bot admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ChatKind = Literal["private", "group", "supergroup", "channel"]
Origin = Literal["config", "calendar", "chat", "news", "opml"]
OwnedKind = Literal["deadline", "topic", "source"]
SHARED_ORIGINS: frozenset[str] = frozenset({"config", "calendar"})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who presses or types. `chat_admin` is only looked up in groups (False elsewhere)."""

    user_id: int | None
    bot_admin: bool = False
    chat_admin: bool = False


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """The acting chat's own state: settings, what it follows, its countdowns and proposals."""


@dataclass(frozen=True, slots=True)
class Owned:
    """A deadline, topic or source itself (its date, title, query, URL, status)."""

    kind: OwnedKind
    origin: str
    owner_chat_id: int | None


@dataclass(frozen=True, slots=True)
class Operations:
    """Herald as a whole: the source list, OPML imports, the status report."""


Target = ChatSettings | Owned | Operations
CHAT_SETTINGS = ChatSettings()
OPERATIONS = Operations()


@dataclass(frozen=True, slots=True)
class Request:
    """One attempted change: `actor` in chat `chat_id` (of `chat_kind`) changes `target`."""

    actor: Actor
    chat_id: int
    chat_kind: str
    target: Target


@dataclass(frozen=True, slots=True)
class Allowed:
    """Go ahead."""


RefusalReason = Literal[
    "bot_admins_only", "group_admins_only", "channels", "shared", "other_chat", "no_chat"
]
BOT_ADMINS_ONLY: RefusalReason = "bot_admins_only"
GROUP_ADMINS_ONLY: RefusalReason = "group_admins_only"
CHANNELS: RefusalReason = "channels"


@dataclass(frozen=True, slots=True)
class Refused:
    """Change nothing; `reason` says why (bot.render.access words it), `item` what was refused."""

    reason: RefusalReason
    item: Owned | None = None


Decision = Allowed | Refused


def decide(request: Request) -> Decision:
    """May `request.actor` make this change? A readable chain; the first rule that applies wins."""
    actor, target = request.actor, request.target
    if isinstance(target, Operations):
        return Allowed() if actor.bot_admin else Refused(BOT_ADMINS_ONLY)
    if request.chat_kind == "channel":
        return Refused(CHANNELS)
    in_group = request.chat_kind != "private"
    if in_group and not (actor.chat_admin or actor.bot_admin):
        return Refused(GROUP_ADMINS_ONLY)
    if isinstance(target, ChatSettings):
        return Allowed()
    if target.origin in SHARED_ORIGINS:
        return Refused("shared", target)
    if target.owner_chat_id is None:
        return Allowed() if actor.bot_admin else Refused(BOT_ADMINS_ONLY)
    if target.owner_chat_id != request.chat_id:
        return Refused("other_chat", target)
    return Allowed()
