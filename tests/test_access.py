"""The access rule as a table: who may change what (bot.services.access.decide)."""

from __future__ import annotations

import pytest

from bot.render.access import refusal
from bot.services.access import (
    BOT_ADMINS_ONLY,
    CHAT_SETTINGS,
    GROUP_ADMINS_ONLY,
    OPERATIONS,
    Actor,
    Allowed,
    Owned,
    Refused,
    Request,
    Target,
    decide,
)

A, B = 101, -100202  # a private chat, a group
USER = Actor(7)
GROUP_MEMBER = Actor(8)
GROUP_ADMIN = Actor(9, chat_admin=True)
ANONYMOUS_ADMIN = Actor(None, chat_admin=True)  # sender_chat is the group itself
BOT_ADMIN = Actor(1, bot_admin=True)

CONFIG_DEADLINE = Owned("deadline", "config", None)
CALENDAR_DEADLINE = Owned("deadline", "calendar", None)
A_DEADLINE = Owned("deadline", "chat", A)
A_NEWS_DEADLINE = Owned("deadline", "news", A)
B_DEADLINE = Owned("deadline", "chat", B)
B_TOPIC = Owned("topic", "chat", B)
B_SOURCE = Owned("source", "opml", B)
UNOWNED_NEWS = Owned("deadline", "news", None)
OK = Allowed()
GROUP_ONLY = refusal(Refused(GROUP_ADMINS_ONLY))
ADMINS_ONLY = refusal(Refused(BOT_ADMINS_ONLY))


def shared(kind: str = "deadline", where: str = "config.yaml") -> str:
    return f"That {kind} comes from {where}, so it changes only there: ask Herald's admins."


def others(kind: str) -> str:
    return f"That {kind} belongs to another chat: only that chat can change it."


TABLE: list[tuple[str, Actor, int, str, Target, object]] = [
    # A private chat changes its own settings and items; never another chat's or config's.
    ("own settings, private", USER, A, "private", CHAT_SETTINGS, OK),
    ("own deadline, private", USER, A, "private", A_DEADLINE, OK),
    ("own news deadline, private", USER, A, "private", A_NEWS_DEADLINE, OK),
    ("config deadline, private", USER, A, "private", CONFIG_DEADLINE, shared()),
    ("calendar deadline", USER, A, "private", CALENDAR_DEADLINE, shared(where="its calendar")),
    ("B's deadline from A", USER, A, "private", B_DEADLINE, others("deadline")),
    ("B's topic from A", USER, A, "private", B_TOPIC, others("topic")),
    ("B's source from A", USER, A, "private", B_SOURCE, others("source")),
    ("unowned news deadline", USER, A, "private", UNOWNED_NEWS, ADMINS_ONLY),
    ("operations, user", USER, A, "private", OPERATIONS, ADMINS_ONLY),
    # In a group: members change nothing; admins (also anonymous ones) change the group's.
    ("group settings, member", GROUP_MEMBER, B, "supergroup", CHAT_SETTINGS, GROUP_ONLY),
    ("group deadline, member", GROUP_MEMBER, B, "supergroup", B_DEADLINE, GROUP_ONLY),
    ("group settings, admin", GROUP_ADMIN, B, "supergroup", CHAT_SETTINGS, OK),
    ("group deadline, admin", GROUP_ADMIN, B, "group", B_DEADLINE, OK),
    ("group settings, anonymous admin", ANONYMOUS_ADMIN, B, "supergroup", CHAT_SETTINGS, OK),
    ("group topic, anonymous admin", ANONYMOUS_ADMIN, B, "supergroup", B_TOPIC, OK),
    ("A's deadline from group B, admin", GROUP_ADMIN, B, "group", A_DEADLINE, others("deadline")),
    ("config deadline, group admin", GROUP_ADMIN, B, "group", CONFIG_DEADLINE, shared()),
    ("operations, group admin", GROUP_ADMIN, B, "group", OPERATIONS, ADMINS_ONLY),
    # Bot admins: every chat's settings and Herald's operations, but config only in config.
    ("group settings, bot admin", BOT_ADMIN, B, "supergroup", CHAT_SETTINGS, OK),
    ("config deadline, bot admin", BOT_ADMIN, A, "private", CONFIG_DEADLINE, shared()),
    (
        "config topic, bot admin",
        BOT_ADMIN,
        A,
        "private",
        Owned("topic", "config", None),
        shared("topic"),
    ),
    ("B's deadline from A, bot admin", BOT_ADMIN, A, "private", B_DEADLINE, others("deadline")),
    ("unowned news deadline, bot admin", BOT_ADMIN, A, "private", UNOWNED_NEWS, OK),
    ("operations, bot admin", BOT_ADMIN, A, "private", OPERATIONS, OK),
    ("operations, bot admin in a group", BOT_ADMIN, B, "group", OPERATIONS, OK),
    # Channels take no commands.
    (
        "channel",
        GROUP_ADMIN,
        B,
        "channel",
        CHAT_SETTINGS,
        "Herald takes no commands in channels.",
    ),
]


@pytest.mark.parametrize(
    ("actor", "chat_id", "kind", "target", "expected"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_each_request_is_allowed_or_refused_in_the_words_the_access_table_gives(
    actor: Actor, chat_id: int, kind: str, target: Target, expected: object
) -> None:
    verdict = decide(Request(actor, chat_id, kind, target))
    # A refusal is checked in the words the person reads (bot.render.access).
    assert (refusal(verdict) if isinstance(verdict, Refused) else verdict) == expected
