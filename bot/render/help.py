"""`/help <command>`: how to write a command, with two examples that work as shown.

Examples name ids from the shipped `config.yaml` (recurring releases, so they never pass) and
dates computed from today, never a fixed date that will one day be past. The /edit and
/cancel examples act on the deadline the /add example creates. A test runs every example.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.render.chat import addressed
from bot.render.common import Rendered, escape
from bot.render.i18n import N_, _


@dataclass(frozen=True)
class HelpDetail:
    usage: str
    examples: Callable[[date], tuple[str, ...]]
    notes: str = ""


def _day(today: date, days: int) -> str:
    """'17 Jan': a day `days` ahead, written without its year (read as the next one)."""
    moment = today + timedelta(days=days)
    return f"{moment.day} {moment:%b}"


def _fixed(*examples: str) -> Callable[[date], tuple[str, ...]]:
    return lambda _today: examples


HELP_DETAILS: dict[str, HelpDetail] = {
    "start": HelpDetail("/start", _fixed("/start"), N_("Registers the chat; safe to send again.")),
    "help": HelpDetail("/help [command]", _fixed("/help", "/help add")),
    "timezone": HelpDetail(
        "/timezone [city or IANA zone]", _fixed("/timezone London", "/timezone America/New_York")
    ),
    "settings": HelpDetail(
        "/settings",
        _fixed("/settings"),
        N_("Time zone, quiet hours, digest, reminders and what to follow, by buttons."),
    ),
    "deadlines": HelpDetail("/deadlines", _fixed("/deadlines")),
    "deadline": HelpDetail(
        "/deadline <id>", _fixed("/deadline us-jobs-report", "/deadline uk-us-trade-deal")
    ),
    "add": HelpDetail(
        "/add <when> <title>",
        lambda today: (
            f"/add {_day(today, 10)} 17:00 Comment period closes",
            "/add next Friday 09:00 Jobs report",
        ),
        N_(
            "When: 9 Jul 17:00, tomorrow noon, next Friday 09:00, in 3 days, "
            "July 9 5pm London. Herald shows its reading; press Confirm to store it."
        ),
    ),
    "edit": HelpDetail(
        "/edit <id> when|title|remind <value>",
        lambda today: (
            f"/edit comment-period-closes when {_day(today, 12)} 09:00",
            "/edit comment-period-closes remind 7d 1d",
        ),
        N_("Only deadlines this chat added; followers are told of moves."),
    ),
    "cancel": HelpDetail(
        "/cancel <id>", _fixed("/cancel comment-period-closes", "/cancel jobs-report")
    ),
    "follow": HelpDetail(
        "/follow <id>", _fixed("/follow us-jobs-report", "/follow ism-manufacturing-pmi")
    ),
    "unfollow": HelpDetail(
        "/unfollow <id>", _fixed("/unfollow us-jobless-claims", "/unfollow eia-petroleum-status")
    ),
    "remind": HelpDetail(
        "/remind <id> <offsets…>|default",
        _fixed("/remind us-jobs-report 1d 2h", "/remind us-jobs-report default"),
        N_("Offsets: 7d = 7 days, 2h = 2 hours, 30m = 30 minutes, 0 = when it falls due."),
    ),
    "countdown": HelpDetail(
        "/countdown <id>", _fixed("/countdown us-jobs-report", "/countdown ism-manufacturing-pmi")
    ),
    "watch": HelpDetail(
        "/watch <query>|<topic id>",
        _fixed('/watch "rare earth" export -opinion', "/watch chip-export-controls"),
        N_("Queries: quoted phrases, OR, -word to exclude (docs/topics.md)."),
    ),
    "unwatch": HelpDetail(
        "/unwatch <topic id>", _fixed("/unwatch chip-export-controls", "/unwatch oecd-outlook")
    ),
    "topics": HelpDetail("/topics", _fixed("/topics")),
    "news": HelpDetail("/news [topic id]", _fixed("/news", "/news rare-earths")),
    "sources": HelpDetail("/sources", _fixed("/sources"), N_("For Herald admins.")),
    "import": HelpDetail(
        "/import (as the caption of, or a reply to, an .opml file)",
        _fixed(),
        N_("For Herald admins. In the console: /import PATH."),
    ),
    "quiet": HelpDetail("/quiet <from>-<to>|off", _fixed("/quiet 10pm-7am", "/quiet off")),
    "mute": HelpDetail(
        "/mute <duration> | /mute topic <id> [duration]",
        _fixed("/mute 2 hours", "/mute topic rare-earths 2d"),
    ),
    "unmute": HelpDetail("/unmute [topic <id>]", _fixed("/unmute", "/unmute topic rare-earths")),
    "digest": HelpDetail(
        "/digest daily [time]|hourly|off", _fixed("/digest daily 8am", "/digest off")
    ),
    "status": HelpDetail("/status", _fixed("/status"), N_("For Herald admins.")),
    "timeline": HelpDetail("/timeline", _fixed("/timeline")),
    "calendar": HelpDetail(
        "/calendar [add <url> | remove <number or url>]",
        _fixed("/calendar", "/calendar add https://www.gov.uk/bank-holidays/scotland.ics"),
        N_(
            "The calendar's events become this chat's deadlines, read again every few hours. "
            "In groups only admins add or remove calendars."
        ),
    ),
    "export": HelpDetail(
        "/export",
        _fixed("/export"),
        N_("Import the file in Google Calendar, Apple Calendar or Outlook."),
    ),
}


def help_detail(name: str, what: str, today: date, bot_username: str | None = None) -> Rendered:
    """The answer to `/help <name>` for a command this build answers; `bot_username` given
    (in groups) addresses the examples to Herald, as chat.help_text does."""
    detail = HELP_DETAILS.get(name)
    usage = detail.usage if detail else f"/{name}"
    lines = [
        f"<b>/{escape(name)}</b> — {escape(_(what))}",
        _("Usage: {usage}").format(usage=f"<code>{escape(usage)}</code>"),
    ]
    examples = detail.examples(today) if detail else ()
    if examples:
        lines.append(_("Examples:"))
        lines += [
            f"<code>{escape(_addressed(example, bot_username))}</code>" for example in examples
        ]
    if detail and detail.notes:
        lines.append(escape(_(detail.notes)))
    return Rendered("\n".join(lines))


def _addressed(example: str, bot_username: str | None) -> str:
    word, space, rest = example.partition(" ")
    return addressed(word, bot_username) + space + rest


def unknown_help(name: str) -> Rendered:
    return Rendered(
        _("There is no /{name} command. Send /help for the list.").format(name=escape(name))
    )
