"""Delivery-policy messages: quiet hours, mute, digests, snooze, and the admin /status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.render.common import Rendered

POLICY_HELP: tuple[tuple[str, str, str], ...] = ()

ALERT_RENDERERS: dict[str, Callable[[dict[str, Any], str, datetime], Rendered]] = {}
