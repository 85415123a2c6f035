"""Deadline commands: /deadline, /add, /edit, /cancel, /follow, /unfollow, /remind, /countdown."""

from __future__ import annotations

from bot.interface.common import Callback

COMMANDS: dict[str, Callback] = {}
CALLBACKS: list[tuple[str, Callback]] = []
