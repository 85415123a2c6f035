"""Every message text Herald sends, in one package: HTML parse mode, outside text always escaped.

Each submodule renders one area; `alert()` dispatches an outbox row to its renderer by kind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.render import access, calendars, chat, deadlines, news, onboarding, policy
from bot.render.chat import CORE_HELP, DEADLINE_HELP, HelpEntry, help_text, welcome
from bot.render.common import Button, Rendered, countdown, error_reply, escape, format_due
from bot.render.deadlines import DeadlineLine, deadline_list

HELP_COMMANDS: tuple[HelpEntry, ...] = (
    CORE_HELP
    + onboarding.ONBOARDING_HELP
    + DEADLINE_HELP
    + news.NEWS_HELP
    + policy.POLICY_HELP
    + calendars.CALENDAR_HELP
)

AlertRenderer = Callable[[dict[str, Any], str, datetime], Rendered]

ALERT_RENDERERS: dict[str, AlertRenderer] = {
    **deadlines.ALERT_RENDERERS,
    **news.ALERT_RENDERERS,
    **policy.ALERT_RENDERERS,
}


def alert(kind: str, payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    """Render an outbox row; an unknown kind still produces a readable message."""
    renderer = ALERT_RENDERERS.get(kind)
    if renderer is None:
        return Rendered(escape(str(payload.get("text", kind))))
    return renderer(payload, zone, now)


__all__ = [
    "ALERT_RENDERERS",
    "HELP_COMMANDS",
    "Button",
    "DeadlineLine",
    "Rendered",
    "access",
    "alert",
    "chat",
    "countdown",
    "deadline_list",
    "error_reply",
    "format_due",
    "help_text",
    "welcome",
]
