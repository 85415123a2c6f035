"""Which commands Telegram's menu offers where: private chats, group members, group admins,
and Herald's own admins in their private chats.

Telegram does not merge command scopes: a chat shows the list of the most specific scope that
applies, so the group admins' list repeats the members' commands and a Herald admin's private
list repeats the private one. Each list is set once per language Herald speaks: Telegram
shows a user the one of their app's language, and the language-less (English) one otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import (
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)

from bot.render.i18n import SOURCE_LANGUAGE, _, available, use_language

HelpEntry = tuple[str, str, str]  # command name, example, what it does

# Commands only Herald's admins (config `admins`) can use: offered in their private chats only.
BOT_ADMIN_COMMANDS = frozenset({"sources", "status", "import"})
# Commands any member of a group may use: they read, they change nothing of the group's.
GROUP_MEMBER_COMMANDS = frozenset(
    {"help", "deadlines", "deadline", "topics", "news", "timeline", "export"}
)
DESCRIPTION_CHARS = 256  # Telegram's limit on a command's description


@dataclass(frozen=True)
class ScopedCommands:
    scope: BotCommandScope
    commands: tuple[BotCommand, ...]
    language: str | None = None  # an ISO 639-1 code; None for the fallback list


def command_scopes(entries: Sequence[HelpEntry], admin_ids: Iterable[int]) -> list[ScopedCommands]:
    """The command list of every scope and language, most general first (the order they are
    set in); English without a language code is what any other language sees.

    A command not classified as a members' one is offered to group admins only: a new command
    that changes things must not show up for everyone by default.
    """
    admin_ids = sorted(set(admin_ids))
    scoped: list[ScopedCommands] = []
    for language in available():
        with use_language(language):
            code = None if language == SOURCE_LANGUAGE else language
            scoped += [
                ScopedCommands(s.scope, s.commands, code) for s in _scopes(entries, admin_ids)
            ]
    return scoped


def _scopes(entries: Sequence[HelpEntry], admin_ids: Iterable[int]) -> list[ScopedCommands]:
    everyone = [e for e in entries if e[0] not in BOT_ADMIN_COMMANDS]
    members = [e for e in everyone if e[0] in GROUP_MEMBER_COMMANDS]
    scopes = [
        # Replaces any list an older Herald set without a scope (it offered admin commands).
        ScopedCommands(BotCommandScopeDefault(), _commands(everyone)),
        ScopedCommands(BotCommandScopeAllPrivateChats(), _commands(everyone)),
        ScopedCommands(BotCommandScopeAllGroupChats(), _commands(members)),
        ScopedCommands(BotCommandScopeAllChatAdministrators(), _commands(everyone)),
    ]
    for admin_id in admin_ids:
        scopes.append(ScopedCommands(BotCommandScopeChat(admin_id), _commands(entries)))
    return scopes


def _commands(entries: Iterable[HelpEntry]) -> tuple[BotCommand, ...]:
    return tuple(BotCommand(name, _(what)[:DESCRIPTION_CHARS]) for name, _e, what in entries)
