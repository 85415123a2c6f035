"""Onboarding and navigation messages: the /start menu, deep links, stale buttons."""

from __future__ import annotations

from bot.render.common import Button, Rendered, escape

STALE_BUTTON = "This button no longer works: the list has changed. Send the command again."
ACCESS_REFUSED = (
    "Sorry, this Herald is private: it only answers the people and groups its operator"
    " has listed. Nothing you send here is kept."
)
FLOOD = "That is a lot of commands at once: I'll answer again in a minute."
DEEP_LINK_UNKNOWN = "That link points to something that is not here (any more)."


def start_menu(intro: Rendered, deep_link: str | None = None) -> Rendered:
    """/start: what Herald does, what a deep link did, then three ways in."""
    lines = [intro.text, ""]
    if deep_link:
        lines += [deep_link, ""]
    lines.append(
        "What you can do here: see what is coming, pick the news topics to follow, and choose"
        " when alerts reach you (time zone, quiet hours, a daily digest)."
    )
    buttons = (
        (Button("See deadlines", data="dl:0"),),
        (Button("Pick topics", data="st:t:0"), Button("Settings", data="st:m")),
    )
    return Rendered("\n".join(lines), buttons)


def share_link(bot_username: str, kind: str, item_id: str) -> str:
    return f"https://t.me/{bot_username}?start={kind}_{item_id}"


DEEP_LINK_MAX = 64  # Telegram's limit on a start parameter


def with_share_link(rendered: Rendered, bot_username: str, kind: str, item_id: str) -> Rendered:
    """Add the t.me link that makes whoever opens it follow the item (if it fits a link)."""
    if len(f"{kind}_{item_id}") > DEEP_LINK_MAX:
        return rendered
    link = share_link(bot_username, kind, item_id)
    line = f"🔗 Share: {escape(link)} (opening it follows this {kind})"
    return Rendered(f"{rendered.text}\n{line}", rendered.buttons, rendered.preview)


def deep_link_followed(kind: str, title: str, slug: str, added: bool) -> str:
    state = "You now follow" if added else "You already follow"
    return f"🔔 {state} the {kind} <b>{escape(title)}</b> (<code>{escape(slug)}</code>)."


SETTINGS_ADMINS_ONLY = "Only this group's admins can change its deadlines and settings."
REGISTER_FIRST = "Send /start first: then the settings are this chat's."
SAVED = "Saved."
ONBOARDING_HELP: tuple[tuple[str, str, str], ...] = (
    ("settings", "/settings", "time zone, quiet hours, digest, what to follow: all by buttons"),
)


def toggled(followed: bool) -> str:
    return "Following it now." if followed else "Not following it any more."


def settings_main(
    zone: str, quiet: str | None, digest: str, deadlines: int, topics: int
) -> Rendered:
    """/settings: the current values, one button per thing to change."""
    lines = [
        "<b>Settings</b>",
        f"🕰 Time zone: <b>{escape(zone)}</b>",
        f"🌙 Quiet hours: <b>{escape(quiet or 'off')}</b>",
        f"🗞 News digest: <b>{escape(digest)}</b>",
        f"🔔 Following {deadlines} deadline{'s' if deadlines != 1 else ''}"
        f" and {topics} topic{'s' if topics != 1 else ''}.",
    ]
    buttons = (
        (Button("Time zone", data="st:tz"), Button("Quiet hours", data="st:q")),
        (Button("Digest", data="st:dg"), Button("Reminders", data="st:rm")),
        (Button("Deadlines", data="st:d:0"), Button("Topics", data="st:t:0")),
    )
    return Rendered("\n".join(lines), buttons)


def _back() -> tuple[Button, ...]:
    return (Button("◀ Settings", data="st:m"),)


def zone_picker(zone: str, cities: tuple[tuple[str, str], ...]) -> Rendered:
    text = (
        f"🕰 Times are shown in <b>{escape(zone)}</b>. Pick a city, or type any city or zone:"
        " /timezone New York"
    )
    buttons = [
        tuple(Button(label, data=f"st:tz:{i + j}") for j, (label, _) in enumerate(row))
        for i in range(0, len(cities), 3)
        for row in [cities[i : i + 3]]
    ]
    return Rendered(text, (*buttons, _back()))


def quiet_picker(quiet: str | None, presets: tuple[str | None, ...]) -> Rendered:
    text = (
        f"🌙 Quiet hours: <b>{escape(quiet or 'off')}</b>. Pick one, or type your own:"
        " /quiet 10pm-7am"
    )
    row = tuple(Button(p or "Off", data=f"st:q:{i}") for i, p in enumerate(presets))
    return Rendered(text, (row, _back()))


def digest_picker(digest: str, presets: tuple[str, ...]) -> Rendered:
    text = (
        f"🗞 News digest: <b>{escape(digest)}</b>. Pick one, or type your own:"
        " /digest daily 8am"
    )
    rows = tuple(
        tuple(Button(p.capitalize(), data=f"st:dg:{i}") for i, p in enumerate(presets))[k : k + 2]
        for k in range(0, len(presets), 2)
    )
    return Rendered(text, (*rows, _back()))


def offsets_picker(followed: int, presets: tuple[tuple[str, ...] | None, ...]) -> Rendered:
    text = (
        f"⏰ When to be reminded of the {followed} deadline{'s' if followed != 1 else ''} this"
        " chat follows (ones followed later keep their own defaults; one deadline:"
        " /remind &lt;id&gt; 7d 1d 2h)."
    )
    rows = tuple(
        (Button(" ".join(p) if p else "Each deadline's own", data=f"st:rm:{i}"),)
        for i, p in enumerate(presets)
    )
    return Rendered(text, (*rows, _back()))


def toggle_page(
    kind: str, items: list[tuple[int, str, bool]], page: int, pages: int
) -> Rendered:
    """Shipped deadlines (kind "d") or topics (kind "t"), one toggle button each."""
    what = "deadlines" if kind == "d" else "topics"
    head = f"🔔 Which {what} this chat follows" + (
        f" (page {page + 1} of {pages})" if pages > 1 else ""
    )
    if not items:
        head += f"\nThere are no {what} to follow yet."
    buttons: list[tuple[Button, ...]] = [
        (Button(f"{'✅' if followed else '▫️'} {title[:48]}", data=f"st:{kind}t:{page}:{item_id}"),)
        for item_id, title, followed in items
    ]
    nav: list[Button] = []
    if page > 0:
        nav.append(Button("◀", data=f"st:{kind}:{page - 1}"))
    nav.append(Button("Settings", data="st:m"))
    if page + 1 < pages:
        nav.append(Button("▶", data=f"st:{kind}:{page + 1}"))
    buttons.append(tuple(nav))
    return Rendered(head + "\nPress one to follow or stop following it.", tuple(buttons))


CALLBACK_DATA_MAX = 64  # bytes, Telegram's limit


def did_you_mean(
    kind: str, word: str, suggestions: list[str], action: str, *, literal: bool = False
) -> Rendered:
    """An id that names no `kind` ("deadline", "topic"): the closest ids as buttons doing
    `action` (a callback prefix); `literal` adds how to search for the words instead."""
    lines = [f"No {kind} with id <code>{escape(word)}</code>."]
    if suggestions:
        lines.append("Did you mean one of these?")
    else:
        lines.append(f"See /{kind}s for the ids.")
    if literal:
        words = " ".join(word.split("-"))
        lines.append(
            f"To follow news matching words instead, write them out: "
            f"<code>/watch {escape(words)}</code> or <code>/watch \"{escape(word)}\"</code>."
        )
    buttons = tuple(
        (Button(s, data=f"{action}:{s}"),)
        for s in suggestions
        if len(f"{action}:{s}".encode()) <= CALLBACK_DATA_MAX
    )
    return Rendered("\n".join(lines), buttons)
