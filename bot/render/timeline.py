"""The /timeline picture: a chat's upcoming deadlines on a time axis, drawn as a PNG.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no display, no global figure
state), so it is safe to run in a worker thread. Sized for a phone: 1200 px wide, one row per
deadline, type large enough to read without zooming.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.render.common import Rendered, countdown, day_text
from bot.render.i18n import _, ngettext, number
from bot.services.chat_calendars import TimelineItem

WIDTH_PX = 1200
DPI = 100
ROW_IN = 0.78  # height of one deadline's row, inches
HEAD_IN = 1.6  # title and date axis
MAX_TITLE_CHARS = 38
FONT_PT = 19
TODAY_COLOUR = "#d62728"
DOT_COLOUR = "#1f5fa8"


def _short(title: str) -> str:
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "…"


def _naive_local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def timeline_png(items: Sequence[TimelineItem], zone: str, now: datetime) -> bytes:
    """One row per deadline (soonest on top): a bar from today to its due time, a dot, and
    its title with the countdown; a red line marks today. Times are the chat's zone."""
    # Imported on first use: matplotlib and numpy cost 42 MB of RSS, and every Herald process
    # imports this module (the chat commands) while few ever draw a timeline.
    import matplotlib

    matplotlib.use("Agg")  # headless: never look for a display
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tz = ZoneInfo(zone)
    rows = sorted(items, key=lambda item: item.due_at)
    height_in = HEAD_IN + ROW_IN * max(len(rows), 1)
    figure = Figure(figsize=(WIDTH_PX / DPI, height_in), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.03, 0.2 / height_in, 0.94, 1 - (HEAD_IN - 0.2) / height_in))
    today = _naive_local(now, tz)
    start = float(mdates.date2num(today))
    last = max((float(mdates.date2num(_naive_local(i.due_at, tz))) for i in rows), default=start)
    span = max(last - start, 1.0)  # days
    axes.set_xlim(start - span * 0.03, last + span * 0.04)
    axes.set_ylim(len(rows) - 0.6, -1.0)
    axes.axvline(start, color=TODAY_COLOUR, linewidth=3, zorder=3)
    axes.text(
        start,
        -0.95,
        " " + _("today"),
        color=TODAY_COLOUR,
        fontsize=FONT_PT,
        fontweight="bold",
        va="top",
        ha="left",
    )
    for row, item in enumerate(rows):
        local = _naive_local(item.due_at, tz)
        due = float(mdates.date2num(local))
        axes.hlines(row, start, due, color="#c8d6e8", linewidth=7, zorder=1)
        axes.plot([due], [row], "o", color=DOT_COLOUR, markersize=14, zorder=4)
        when = day_text(local, with_year=local.year != today.year)
        axes.text(
            start + span * 0.01,
            row - 0.2,
            f"{_short(item.title)} — {when} · {countdown(item.due_at, now, item.all_day)}",
            fontsize=FONT_PT,
            va="bottom",
            ha="left",
            zorder=5,
        )
    axes.xaxis.tick_top()
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes.tick_params(axis="x", labelsize=FONT_PT - 3)
    axes.xaxis.get_offset_text().set_fontsize(FONT_PT - 5)
    axes.set_yticks([])
    for side in ("left", "right", "bottom"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="x", color="#e5e5e5", linewidth=1)
    figure.suptitle(
        _("Upcoming deadlines ({zone} time)").format(zone=zone),
        fontsize=FONT_PT + 5,
        fontweight="bold",
        y=0.995,
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def timeline_caption(count: int, zone: str) -> str:
    """The photo's caption (plain text)."""
    return ngettext(
        "{n} upcoming deadline, times in {zone}. /deadlines lists them.",
        "{n} upcoming deadlines, times in {zone}. /deadlines lists them.",
        count,
    ).format(n=number(count), zone=zone)


def timeline_empty() -> Rendered:
    return Rendered(
        _(
            "Nothing upcoming on your timeline: this chat follows no deadline that is still "
            "ahead. /deadlines lists the ones you can /follow, or /add your own."
        )
    )
