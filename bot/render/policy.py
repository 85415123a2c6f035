"""Delivery-policy messages: quiet hours, mute, digests, snooze, and the admin /status."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from bot.render.common import Rendered, format_moment, span_text

POLICY_HELP: tuple[tuple[str, str, str], ...] = (
    ("quiet", "/quiet 10pm-7am", "hold non-urgent alerts at night (/quiet off to stop)"),
    ("mute", "/mute 3h", "hold every alert for a while; /mute topic rare-earths drops a topic"),
    ("unmute", "/unmute", "end a mute now; /unmute topic rare-earths brings a topic back"),
    ("digest", "/digest daily 8am", "news in one message a day (or hourly, or off)"),
    ("status", "/status", "for Herald admins: delivery counts, failures, inactive chats"),
)

ALERT_RENDERERS: dict[str, Callable[[dict[str, Any], str, datetime], Rendered]] = {}

REGISTER_FIRST = "Send /start first, then choose how alerts reach this chat."
ADMINS_ONLY = "Only Herald admins can see /status."
MUTE_FORM = "Use /mute 3h (or 30m, 2d, 1w), or /mute topic rare-earths [duration]."
UNMUTE_FORM = "Use /unmute, or /unmute topic rare-earths."
MAX_FAILURES_SHOWN = 5
MAX_INACTIVE_SHOWN = 5




def plain(text: str) -> Rendered:
    """A short answer with nothing but outside text in it, escaped."""
    return Rendered(escape(text))


def quiet_state(quiet: str | None, zone: str, changed: bool) -> Rendered:
    if quiet is None:
        head = "Quiet hours are off" if changed else "No quiet hours are set"
        return Rendered(f"{head}: alerts arrive as they come. Set some with /quiet 22:00-07:00.")
    verb = "are now" if changed else "are"
    return Rendered(
        f"🌙 Quiet hours {verb} <b>{escape(quiet)}</b> ({escape(zone)} time). "
        "Reminders and news wait until they end; a deadline within the hour still arrives."
    )


def mute_state(until: datetime | None, zone: str, changed: bool, now: datetime) -> Rendered:
    if until is None:
        head = "Unmuted" if changed else "This chat is not muted"
        return Rendered(f"🔔 {head}: alerts arrive again. {escape(MUTE_FORM)}")
    return Rendered(
        f"🔕 Muted until <b>{escape(format_moment(until, zone, now))}</b>. "
        "Held alerts arrive then; only a deadline being reached gets through. "
        "/unmute to end it now."
    )


def topic_mute_state(
    slug: str, until: datetime | None, zone: str, now: datetime, *, chosen: bool = True
) -> Rendered:
    """`chosen` is False when no duration was given and the longest mute applies."""
    if until is None:
        return Rendered(f"🔔 News on <code>{escape(slug)}</code> arrives again.")
    how_long = escape(span_text((until - now).total_seconds()))
    longest = "" if chosen else f" (no duration given; e.g. /mute topic {escape(slug)} 2d for less)"
    return Rendered(
        f"🔕 News on <code>{escape(slug)}</code> is muted for {how_long}{longest}, until "
        f"<b>{escape(format_moment(until, zone, now))}</b> (it stays in /news). "
        f"/unmute topic {escape(slug)} to bring it back."
    )


def unknown_topic(slug: str) -> Rendered:
    return Rendered(
        f"This chat does not follow a topic <code>{escape(slug)}</code>. See /topics for the ids."
    )


def digest_state(digest: str, zone: str, changed: bool) -> Rendered:
    if digest == "off":
        head = "Digest is off" if changed else "No digest is set"
        return Rendered(f"{head}: news arrives as it comes. Try /digest daily 08:00.")
    verb = "is now" if changed else "is"
    return Rendered(
        f"🗞 Your news digest {verb} <b>{escape(digest)}</b> ({escape(zone)} time): "
        "news comes in one message then. Reminders still arrive at once."
    )


def snoozed(until: datetime, zone: str, now: datetime) -> str:
    """The short answer to the Snooze button (a callback answer is plain text)."""
    return f"Snoozed: I'll remind you again at {format_moment(until, zone, now)}."


@dataclass(frozen=True)
class FailureLine:
    alert_id: int
    chat_id: int
    kind: str
    error: str


@dataclass(frozen=True)
class StatusFacts:
    """What /status shows: alert counts by status, recent failures, inactive chats."""

    counts: dict[str, int]
    failures: Sequence[FailureLine]
    inactive: Sequence[tuple[int, str]]  # chat id, reason
    inactive_total: int


def status_report(facts: StatusFacts) -> Rendered:
    order = ("pending", "sending", "sent", "failed", "cancelled")
    counts = " · ".join(f"{name} {facts.counts.get(name, 0):,}" for name in order)
    lines = ["<b>Delivery status</b>", f"Alerts: {counts}"]
    lines.append("")
    lines.append(f"<b>Last failures</b> ({facts.counts.get('failed', 0):,} in all)")
    if not facts.failures:
        lines.append("none")
    for failure in facts.failures[:MAX_FAILURES_SHOWN]:
        lines.append(
            f"• #{failure.alert_id} {escape(failure.kind)} to <code>{failure.chat_id}</code>: "
            f"{escape(failure.error)}"
        )
    lines.append("")
    lines.append(f"<b>Inactive chats</b> ({facts.inactive_total:,})")
    if not facts.inactive:
        lines.append("none")
    for chat_id, reason in facts.inactive[:MAX_INACTIVE_SHOWN]:
        lines.append(f"• <code>{chat_id}</code>: {escape(reason)}")
    return Rendered("\n".join(lines))
