"""Delivery-policy commands: /quiet, /mute, /unmute, /digest, /status, and the Snooze button."""

from __future__ import annotations

from bot.interface.common import Callback

COMMANDS: dict[str, Callback] = {}
CALLBACKS: list[tuple[str, Callback]] = []
