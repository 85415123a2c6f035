"""Delivery-policy messages: quiet hours, mute, digests, snooze, and the admin /status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any

from bot.delivery_policy.quiet import PolicyInputError
from bot.render.common import Rendered, format_moment, reader_error, span_text
from bot.render.i18n import N_, _, number
from bot.services.policy import StatusFacts

POLICY_HELP: tuple[tuple[str, str, str], ...] = (
    ("quiet", "/quiet 10pm-7am", N_("hold non-urgent alerts at night (/quiet off to stop)")),
    (
        "mute",
        "/mute 3h",
        N_("hold every alert for a while; /mute topic rare-earths drops a topic"),
    ),
    (
        "unmute",
        "/unmute",
        N_("end a mute now; /unmute topic rare-earths brings a topic back"),
    ),
    ("digest", "/digest daily 8am", N_("news in one message a day (or hourly, or off)")),
    ("status", "/status", N_("for Herald admins: delivery counts, failures, inactive chats")),
)

ALERT_RENDERERS: dict[str, Callable[[dict[str, Any], str, datetime], Rendered]] = {}

MAX_FAILURES_SHOWN = 5
MAX_INACTIVE_SHOWN = 5


def register_first() -> str:
    return _("Send /start first, then choose how alerts reach this chat.")


def admins_only() -> str:
    return _("Only Herald admins can see /status.")


def mute_form() -> str:
    return _("Use /mute 3h (or 30m, 2d, 1w), or /mute topic rare-earths [duration].")


def unmute_form() -> str:
    return _("Use /unmute, or /unmute topic rare-earths.")


def snooze_label() -> str:
    return _("Snooze 1 h")


def snooze_gone() -> str:
    return _("That reminder can no longer be snoozed.")


def input_error(error: PolicyInputError) -> str:
    """A /quiet, /mute or /digest input that was refused: what is wrong, then the form
    expected (plain text)."""
    if error.problem == "mute_form":
        return mute_form()
    value = error.value
    problems = {
        "not_a_time": _("{value} is not a time of day."),
        "not_a_range": _('"{value}" is not a time range.'),
        "same_times": _("Quiet hours must start and end at different times."),
        "not_a_duration": _('"{value}" is not a duration.'),
        "out_of_range": _('"{value}" is out of range.'),
        "not_a_digest": _('"{value}" is not a digest setting.'),
    }
    if error.problem == "unreadable_clock":
        detail = reader_error(error.detail)
        what = f"{detail[:1].upper()}{detail[1:]}."
    else:
        what = problems[error.problem].format(value=value)
    return f"{what} {_input_form(error.form)}"


def _input_form(form: str) -> str:
    if form == "duration":
        return _("Give a duration like 30m, 3h, 2 hours, 2d, 1w or 1h30m (at most 366 days).")
    if form == "digest":
        return _('Digest is "off", "hourly" or "daily" with a time, e.g. daily 08:00 or daily 8am.')
    return _('Quiet hours look like 22:00-07:00 or 10pm-7am (start-end, your time), or "off".')


def plain(text: str) -> Rendered:
    """A short answer with nothing but outside text in it, escaped."""
    return Rendered(escape(text))


def quiet_state(quiet: str | None, zone: str, changed: bool) -> Rendered:
    if quiet is None:
        if changed:
            return Rendered(
                _("Quiet hours are off: alerts arrive as they come.")
                + " "
                + _("Set some with /quiet 22:00-07:00.")
            )
        return Rendered(
            _("No quiet hours are set: alerts arrive as they come.")
            + " "
            + _("Set some with /quiet 22:00-07:00.")
        )
    head = (
        _("🌙 Quiet hours are now <b>{hours}</b> ({zone} time).")
        if changed
        else _("🌙 Quiet hours are <b>{hours}</b> ({zone} time).")
    )
    return Rendered(
        head.format(hours=escape(quiet), zone=escape(zone))
        + " "
        + _("Reminders and news wait until they end; a deadline within the hour still arrives.")
    )


def mute_state(until: datetime | None, zone: str, changed: bool, now: datetime) -> Rendered:
    if until is None:
        head = (
            _("🔔 Unmuted: alerts arrive again.")
            if changed
            else _("🔔 This chat is not muted: alerts arrive again.")
        )
        return Rendered(f"{head} {escape(mute_form())}")
    return Rendered(
        _(
            "🔕 Muted until <b>{moment}</b>. Held alerts arrive then; only a deadline being "
            "reached gets through. /unmute to end it now."
        ).format(moment=escape(format_moment(until, zone, now)))
    )


def topic_mute_state(
    slug: str, until: datetime | None, zone: str, now: datetime, *, chosen: bool = True
) -> Rendered:
    """`chosen` is False when no duration was given and the longest mute applies."""
    topic = f"<code>{escape(slug)}</code>"
    if until is None:
        return Rendered(_("🔔 News on {topic} arrives again.").format(topic=topic))
    how_long = escape(span_text((until - now).total_seconds()))
    moment = escape(format_moment(until, zone, now))
    if chosen:
        text = _(
            "🔕 News on {topic} is muted for {span}, until <b>{moment}</b> (it stays in /news). "
            "/unmute topic {slug} to bring it back."
        )
    else:
        text = _(
            "🔕 News on {topic} is muted for {span} (no duration given; e.g. /mute topic "
            "{slug} 2d for less), until <b>{moment}</b> (it stays in /news). "
            "/unmute topic {slug} to bring it back."
        )
    return Rendered(text.format(topic=topic, span=how_long, moment=moment, slug=escape(slug)))


def unknown_topic(slug: str) -> Rendered:
    return Rendered(
        _("This chat does not follow a topic {topic}. See /topics for the ids.").format(
            topic=f"<code>{escape(slug)}</code>"
        )
    )


def digest_state(digest: str, zone: str, changed: bool) -> Rendered:
    if digest == "off":
        head = (
            _("Digest is off: news arrives as it comes.")
            if changed
            else _("No digest is set: news arrives as it comes.")
        )
        return Rendered(head + " " + _("Try /digest daily 08:00."))
    if changed:
        head = _(
            "🗞 Your news digest is now <b>{digest}</b> ({zone} time): "
            "news comes in one message then."
        )
    else:
        head = _(
            "🗞 Your news digest is <b>{digest}</b> ({zone} time): news comes in one message then."
        )
    return Rendered(
        head.format(digest=escape(digest), zone=escape(zone))
        + " "
        + _("Reminders still arrive at once.")
    )


def snoozed(until: datetime, zone: str, now: datetime) -> str:
    """The short answer to the Snooze button (a callback answer is plain text)."""
    return _("Snoozed: I'll remind you again at {moment}.").format(
        moment=format_moment(until, zone, now)
    )


def _status_name(name: str) -> str:
    names = {
        "pending": _("pending"),
        "sending": _("sending"),
        "sent": _("sent"),
        "failed": _("failed"),
        "cancelled": _("cancelled"),
    }
    return names[name]


def status_report(facts: StatusFacts) -> Rendered:
    order = ("pending", "sending", "sent", "failed", "cancelled")
    counts = " · ".join(
        f"{_status_name(name)} {number(facts.counts.get(name, 0))}" for name in order
    )
    none = _("none")
    lines = ["<b>" + _("Delivery status") + "</b>", _("Alerts: {counts}").format(counts=counts)]
    lines.append("")
    lines.append(
        _("<b>Last failures</b> ({count} in all)").format(
            count=number(facts.counts.get("failed", 0))
        )
    )
    if not facts.failures:
        lines.append(none)
    for failure in facts.failures[:MAX_FAILURES_SHOWN]:
        lines.append(
            _("• #{alert_id} {kind} to {chat}: {error}").format(
                alert_id=failure.alert_id,
                kind=escape(failure.kind),
                chat=f"<code>{failure.chat_id}</code>",
                error=escape(failure.error),
            )
        )
    lines.append("")
    lines.append(_("<b>Inactive chats</b> ({count})").format(count=number(facts.inactive_total)))
    if not facts.inactive:
        lines.append(none)
    for chat_id, reason in facts.inactive[:MAX_INACTIVE_SHOWN]:
        lines.append(f"• <code>{chat_id}</code>: {escape(reason)}")
    return Rendered("\n".join(lines))
