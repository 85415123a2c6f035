"""Chat-level messages: welcome, help, time zone, and the short answers every command shares."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.text import ReaderError
from bot.render.common import Rendered, count_of, escape, reader_error
from bot.render.i18n import N_, _, ngettext


def welcome(
    chat_title: str | None, created: bool, deadlines: int, topics: int, zone: str
) -> Rendered:
    who = f" {escape(chat_title)}" if chat_title else ""
    if created:
        first = _(
            "Welcome{who}! Herald will remind you of deadlines and push news on your topics."
        ).format(who=who)
        follows = _("You now follow {deadlines} and {topics} from the shipped list.").format(
            deadlines=count_of(deadlines, ngettext("{n} deadline", "{n} deadlines", deadlines)),
            topics=count_of(topics, ngettext("{n} topic", "{n} topics", topics)),
        )
    else:
        first = _("Welcome back{who}! Your alerts are on.").format(who=who)
        follows = _("Your subscriptions are as you left them.")
    return Rendered(
        "\n".join(
            [
                first,
                follows,
                _("Times are shown in {zone} (change it with /timezone Europe/Paris).").format(
                    zone=escape(zone)
                ),
                "",
                _("Try /deadlines to see what is coming, or /help for every command."),
            ]
        )
    )


HelpEntry = tuple[str, str, str]  # command name, example, what it does (an N_ msgid)

CORE_HELP: tuple[HelpEntry, ...] = (
    ("start", "/start", N_("register this chat and follow the shipped deadlines and topics")),
    ("help", "/help add", N_("this list, or how to write one command")),
    ("timezone", "/timezone Europe/Paris", N_("show times in another zone")),
)

DEADLINE_HELP: tuple[HelpEntry, ...] = (
    (
        "deadlines",
        "/deadlines",
        N_("upcoming deadlines with countdowns, then recently passed ones"),
    ),
    ("deadline", "/deadline us-jobs-report", N_("details, reminder offsets, history, followers")),
    ("add", "/add in 10 days 17:00 Comment period closes", N_("add a deadline for this chat")),
    (
        "edit",
        "/edit comment-period-closes when next Friday 09:00",
        N_("change when, title or remind offsets"),
    ),
    ("cancel", "/cancel comment-period-closes", N_("cancel a deadline this chat added")),
    ("follow", "/follow ism-manufacturing-pmi", N_("get reminders for a deadline")),
    ("unfollow", "/unfollow eia-petroleum-status", N_("stop reminders for a deadline")),
    ("remind", "/remind us-jobs-report 7d 1d 2h", N_("choose this chat's reminder offsets")),
    ("countdown", "/countdown us-jobs-report", N_("a countdown message kept up to date")),
)


def addressed(command: str, bot_username: str | None) -> str:
    """'/deadlines', or in a group '/deadlines@HeraldBot': with several bots in a group,
    Telegram hands a bare command to every one of them, and Herald answers only its own."""
    return f"{command}@{bot_username}" if bot_username else command


def _address_all(text: str, bot_username: str | None) -> str:
    """Every leading /command of an example addressed to this bot (see `addressed`)."""
    if not bot_username or not text.startswith("/"):
        return text
    word, space, rest = text.partition(" ")
    return addressed(word, bot_username) + space + rest


def help_text(commands: Sequence[HelpEntry], bot_username: str | None = None) -> Rendered:
    """The command list; `bot_username` given (in groups) addresses each command to Herald."""
    lines = ["<b>" + _("Herald commands") + "</b>"]
    for _name, example, what in commands:
        lines.append(
            f"<code>{escape(_address_all(example, bot_username))}</code> — {escape(_(what))}"
        )
    lines.append("")
    lines.append(_("Offsets: 7d = 7 days, 2h = 2 hours, 30m = 30 minutes, 0 = when it falls due."))
    return Rendered("\n".join(lines))


def zone_shown(zone: str) -> str:
    return _("Times here are shown in {zone}. Change it with /timezone Europe/Paris.").format(
        zone=zone
    )


def zone_error(error: str | ReaderError) -> str:
    return _("{error}. Example: /timezone New York").format(error=reader_error(error))


def zone_register_first() -> str:
    return _("Send /start first, then set the time zone.")


def zone_set(zone: str) -> str:
    return _("Done: times are now shown in {zone}.").format(zone=zone)


def deadline_gone() -> str:
    return _("That deadline no longer exists.")


def unfollow_answer(removed: bool) -> str:
    return _("Unfollowed.") if removed else _("You were not following it.")


def unfollowed(title: str, slug: str) -> str:
    return _("You no longer follow {title}. /follow {slug} to undo.").format(title=title, slug=slug)


def unknown_command(command: str) -> str:
    return _("I don't know {command}. Send /help to see what I understand.").format(command=command)


def nul_refused() -> str:
    return _("That message contains a NUL character; nothing was done.")


def stale_button() -> str:
    return _("That button no longer works.")


def button_failed() -> str:
    return _("Something went wrong; nothing was changed.")


def cut_note() -> str:
    return _("…(cut: too long)")
