"""Chat-level messages: welcome and help."""

from __future__ import annotations

from collections.abc import Sequence

from bot.render.common import Rendered, escape, plural


def welcome(
    chat_title: str | None, created: bool, deadlines: int, topics: int, zone: str
) -> Rendered:
    who = f" {escape(chat_title)}" if chat_title else ""
    if created:
        first = f"Welcome{who}! Herald will remind you of deadlines and push news on your topics."
        follows = (
            f"You now follow {plural(deadlines, 'deadline')} and {plural(topics, 'topic')} "
            "from the shipped list."
        )
    else:
        first = f"Welcome back{who}! Your alerts are on."
        follows = "Your subscriptions are as you left them."
    return Rendered(
        "\n".join(
            [
                first,
                follows,
                f"Times are shown in {escape(zone)} (change it with /timezone Europe/Paris).",
                "",
                "Try /deadlines to see what is coming, or /help for every command.",
            ]
        )
    )


HelpEntry = tuple[str, str, str]  # command name, example, what it does

CORE_HELP: tuple[HelpEntry, ...] = (
    ("start", "/start", "register this chat and follow the shipped deadlines and topics"),
    ("help", "/help add", "this list, or how to write one command"),
    ("timezone", "/timezone Europe/Paris", "show times in another zone"),
)

DEADLINE_HELP: tuple[HelpEntry, ...] = (
    ("deadlines", "/deadlines", "upcoming deadlines with countdowns, then recently passed ones"),
    ("deadline", "/deadline us-jobs-report", "details, reminder offsets, history, followers"),
    ("add", "/add in 10 days 17:00 Comment period closes", "add a deadline for this chat"),
    (
        "edit",
        "/edit comment-period-closes when next Friday 09:00",
        "change when, title or remind offsets",
    ),
    ("cancel", "/cancel comment-period-closes", "cancel a deadline this chat added"),
    ("follow", "/follow ism-manufacturing-pmi", "get reminders for a deadline"),
    ("unfollow", "/unfollow eia-petroleum-status", "stop reminders for a deadline"),
    ("remind", "/remind us-jobs-report 7d 1d 2h", "choose this chat's reminder offsets"),
    ("countdown", "/countdown us-jobs-report", "a countdown message kept up to date"),
)


def help_text(commands: Sequence[HelpEntry]) -> Rendered:
    lines = ["<b>Herald commands</b>"]
    for _name, example, what in commands:
        lines.append(f"<code>{escape(example)}</code> — {escape(what)}")
    lines.append("")
    lines.append("Offsets: 7d = 7 days, 2h = 2 hours, 30m = 30 minutes, 0 = when it falls due.")
    return Rendered("\n".join(lines))
