"""Why a change was refused, in words (the rule itself is bot.services.access)."""

from __future__ import annotations

from bot.render.i18n import _
from bot.services.access import Owned, Refused


def refusal(verdict: Refused) -> str:
    """One plain-text sentence (it may answer a button press, which takes no HTML)."""
    if verdict.reason == "group_admins_only":
        return _("Only this group's admins can change its deadlines and settings.")
    if verdict.reason == "channels":
        return _("Herald takes no commands in channels.")
    if verdict.reason == "no_chat":
        return _("No chat to act in.")
    if verdict.reason in ("shared", "other_chat") and verdict.item is not None:
        return _item_refusal(verdict.reason, verdict.item)
    return _("Only Herald's admins can do that.")


def _item_refusal(reason: str, item: Owned) -> str:
    that = _that_item(item.kind)
    if reason == "other_chat":
        return _("{that_item} belongs to another chat: only that chat can change it.").format(
            that_item=that
        )
    if item.origin == "config":
        return _(
            "{that_item} comes from config.yaml, so it changes only there: ask Herald's admins."
        ).format(that_item=that)
    return _(
        "{that_item} comes from its calendar, so it changes only there: ask Herald's admins."
    ).format(that_item=that)


def _that_item(kind: str) -> str:
    """The subject of a refusal sentence; whole phrases, since gender differs by language."""
    if kind == "topic":
        return _("That topic")
    if kind == "source":
        return _("That source")
    return _("That deadline")
