"""Onboarding and navigation messages: the /start menu, deep links, stale buttons."""

from __future__ import annotations

from bot.render.common import Button, Rendered, escape

STALE_BUTTON = "This button no longer works: the list has changed. Send the command again."
DEEP_LINK_UNKNOWN = "That link points to something that is not here (any more)."


def start_menu(intro: Rendered) -> Rendered:
    """/start: what Herald does, then three ways in."""
    text = "\n".join(
        [
            intro.text,
            "",
            "Herald reminds this chat of dated events before they happen (trade deadlines,"
            " tariff reviews, data releases) and pushes news on the topics you follow.",
        ]
    )
    buttons = (
        (Button("See deadlines", data="dl:0"),),
        (Button("Pick topics", data="go:topics"), Button("Settings", data="go:settings")),
    )
    return Rendered(text, buttons)


def share_link(bot_username: str, kind: str, item_id: str) -> str:
    return f"https://t.me/{bot_username}?start={kind}_{item_id}"


def share_line(bot_username: str, kind: str, item_id: str) -> str:
    link = share_link(bot_username, kind, item_id)
    return f"Share: <a href=\"{escape(link, quote=True)}\">{escape(link)}</a>"
