"""News commands: /watch, /unwatch, /topics, /news, /sources, and the news buttons."""

from __future__ import annotations

from bot.interface.common import Callback

COMMANDS: dict[str, Callback] = {}
CALLBACKS: list[tuple[str, Callback]] = []
