"""Onboarding and navigation messages: the /start menu, deep links, stale buttons."""

from __future__ import annotations

from bot.render.common import Button, Rendered, count_of, escape
from bot.render.i18n import N_, _, ngettext, own_name


def stale_list() -> str:
    return _("This button no longer works: the list has changed. Send the command again.")


def access_refused() -> str:
    return _(
        "Sorry, this Herald is private: it only answers the people and groups its operator"
        " has listed. Nothing you send here is kept."
    )


def flood() -> str:
    return _("That is a lot of commands at once: I'll answer again in a minute.")


def deep_link_unknown() -> str:
    return _("That link points to something that is not here (any more).")


def start_menu(intro: Rendered, deep_link: str | None = None) -> Rendered:
    """/start: what Herald does, what a deep link did, then three ways in."""
    lines = [intro.text, ""]
    if deep_link:
        lines += [deep_link, ""]
    lines.append(
        _(
            "What you can do here: see what is coming, pick the news topics to follow, and"
            " choose when alerts reach you (time zone, quiet hours, a daily digest)."
        )
    )
    buttons = (
        (Button(_("See deadlines"), data="dl:0"),),
        (Button(_("Pick topics"), data="st:t:0"), Button(_("Settings"), data="st:m")),
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
    if kind == "topic":
        line = _("🔗 Share: {link} (opening it follows this topic)").format(link=escape(link))
    else:
        line = _("🔗 Share: {link} (opening it follows this deadline)").format(link=escape(link))
    return Rendered(f"{rendered.text}\n{line}", rendered.buttons, rendered.preview)


def deep_link_followed(kind: str, title: str, slug: str, added: bool) -> str:
    names = {"title": f"<b>{escape(title)}</b>", "slug": f"<code>{escape(slug)}</code>"}
    if kind == "topic":
        text = (
            _("🔔 You now follow the topic {title} ({slug}).")
            if added
            else _("🔔 You already follow the topic {title} ({slug}).")
        )
    else:
        text = (
            _("🔔 You now follow the deadline {title} ({slug}).")
            if added
            else _("🔔 You already follow the deadline {title} ({slug}).")
        )
    return text.format(**names)


def digest_label(setting: str, *, capital: bool = False) -> str:
    """A digest setting ("off", "hourly", "daily 08:00") in words of the current language."""
    kind, _space, at = setting.partition(" ")
    if kind == "off":
        return _("Off") if capital else _("off")
    if kind == "hourly":
        return _("Hourly") if capital else _("hourly")
    if kind == "daily" and at:
        return (_("Daily {time}") if capital else _("daily {time}")).format(time=at)
    return setting


def register_first() -> str:
    return _("Send /start first: then the settings are this chat's.")


def saved() -> str:
    return _("Saved.")


ONBOARDING_HELP: tuple[tuple[str, str, str], ...] = (
    (
        "settings",
        "/settings",
        N_("time zone, quiet hours, digest, what to follow: all by buttons"),
    ),
)


def toggled(followed: bool) -> str:
    return _("Following it now.") if followed else _("Not following it any more.")


def language_label(chosen: str | None) -> str:
    """A chat's language choice: the language in its own name, or each person's app's."""
    return own_name(chosen) if chosen else _("each person's app")


def settings_main(
    zone: str,
    quiet: str | None,
    digest: str,
    deadlines: int,
    topics: int,
    language: str | None = None,
) -> Rendered:
    """/settings: the current values, one button per thing to change; `language` is the
    one the chat chose (None: each person's app language)."""
    lines = [
        "<b>" + _("Settings") + "</b>",
        _("🕰 Time zone: {zone}").format(zone=f"<b>{escape(zone)}</b>"),
        _("🌙 Quiet hours: {quiet}").format(quiet=f"<b>{escape(quiet or _('off'))}</b>"),
        _("🗞 News digest: {digest}").format(digest=f"<b>{escape(digest_label(digest))}</b>"),
        _("🗣 Language: {language}").format(language=f"<b>{escape(language_label(language))}</b>"),
        _("🔔 Following {deadlines} and {topics}.").format(
            deadlines=count_of(deadlines, ngettext("{n} deadline", "{n} deadlines", deadlines)),
            topics=count_of(topics, ngettext("{n} topic", "{n} topics", topics)),
        ),
    ]
    buttons = (
        (Button(_("Time zone"), data="st:tz"), Button(_("Quiet hours"), data="st:q")),
        (Button(_("Digest"), data="st:dg"), Button(_("Reminders"), data="st:rm")),
        (Button(_("Deadlines"), data="st:d:0"), Button(_("Topics"), data="st:t:0")),
        (Button(_("Language"), data="st:lg"),),
    )
    return Rendered("\n".join(lines), buttons)


def _back() -> tuple[Button, ...]:
    return (Button("◀ " + _("Settings"), data="st:m"),)


def zone_picker(zone: str, cities: tuple[tuple[str, str], ...]) -> Rendered:
    text = _(
        "🕰 Times are shown in {zone}. Pick a city, or type any city or zone: /timezone New York"
    ).format(zone=f"<b>{escape(zone)}</b>")
    buttons = [
        tuple(Button(label, data=f"st:tz:{i + j}") for j, (label, _zone) in enumerate(row))
        for i in range(0, len(cities), 3)
        for row in [cities[i : i + 3]]
    ]
    return Rendered(text, (*buttons, _back()))


def quiet_picker(quiet: str | None, presets: tuple[str | None, ...]) -> Rendered:
    text = _("🌙 Quiet hours: {quiet}. Pick one, or type your own: /quiet 10pm-7am").format(
        quiet=f"<b>{escape(quiet or _('off'))}</b>"
    )
    row = tuple(Button(p or _("Off"), data=f"st:q:{i}") for i, p in enumerate(presets))
    return Rendered(text, (row, _back()))


def digest_picker(digest: str, presets: tuple[str, ...]) -> Rendered:
    text = _("🗞 News digest: {digest}. Pick one, or type your own: /digest daily 8am").format(
        digest=f"<b>{escape(digest_label(digest))}</b>"
    )
    rows = tuple(
        tuple(
            Button(digest_label(p, capital=True), data=f"st:dg:{i}") for i, p in enumerate(presets)
        )[k : k + 2]
        for k in range(0, len(presets), 2)
    )
    return Rendered(text, (*rows, _back()))


def offsets_picker(followed: int, presets: tuple[tuple[str, ...] | None, ...]) -> Rendered:
    text = ngettext(
        "⏰ When to be reminded of the {n} deadline this chat follows, and of the ones it"
        " follows later (one deadline only: /remind &lt;id&gt; 7d 1d 2h).",
        "⏰ When to be reminded of the {n} deadlines this chat follows, and of the ones it"
        " follows later (one deadline only: /remind &lt;id&gt; 7d 1d 2h).",
        followed,
    ).format(n=followed)
    rows = tuple(
        (Button(" ".join(p) if p else _("Each deadline's own"), data=f"st:rm:{i}"),)
        for i, p in enumerate(presets)
    )
    return Rendered(text, (*rows, _back()))


def language_picker(chosen: str | None, choices: tuple[str | None, ...]) -> Rendered:
    """The languages a chat can choose (None: each person's app language), one button each."""
    text = _(
        "🗣 Language here: {language}. A language chosen here is the one everyone reads in this"
        " chat, reminders and alerts included; otherwise each person reads replies in their"
        " Telegram app's language."
    ).format(language=f"<b>{escape(language_label(chosen))}</b>")
    rows = tuple(
        (Button(own_name(c) if c else _("Each person's app language"), data=f"st:lg:{i}"),)
        for i, c in enumerate(choices)
    )
    return Rendered(text, (*rows, _back()))


def toggle_page(kind: str, items: list[tuple[int, str, bool]], page: int, pages: int) -> Rendered:
    """Shipped deadlines (kind "d") or topics (kind "t"), one toggle button each."""
    head = (
        _("🔔 Which deadlines this chat follows")
        if kind == "d"
        else _("🔔 Which topics this chat follows")
    )
    if pages > 1:
        head += " " + _("(page {page} of {pages})").format(page=page + 1, pages=pages)
    if not items:
        head += "\n" + (
            _("There are no deadlines to follow yet.")
            if kind == "d"
            else _("There are no topics to follow yet.")
        )
    buttons: list[tuple[Button, ...]] = [
        (Button(f"{'✅' if followed else '▫️'} {title[:48]}", data=f"st:{kind}t:{page}:{item_id}"),)
        for item_id, title, followed in items
    ]
    nav: list[Button] = []
    if page > 0:
        nav.append(Button("◀", data=f"st:{kind}:{page - 1}"))
    nav.append(Button(_("Settings"), data="st:m"))
    if page + 1 < pages:
        nav.append(Button("▶", data=f"st:{kind}:{page + 1}"))
    buttons.append(tuple(nav))
    return Rendered(head + "\n" + _("Press one to follow or stop following it."), tuple(buttons))


CALLBACK_DATA_MAX = 64  # bytes, Telegram's limit


def did_you_mean(
    kind: str, word: str, suggestions: list[str], action: str, *, literal: bool = False
) -> Rendered:
    """An id that names no `kind` ("deadline", "topic"): the closest ids as buttons doing
    `action` (a callback prefix); `literal` adds how to search for the words instead."""
    code = f"<code>{escape(word)}</code>"
    if kind == "topic":
        lines = [_("No topic with id {id}.").format(id=code)]
    else:
        lines = [_("No deadline with id {id}.").format(id=code)]
    if suggestions:
        lines.append(_("Did you mean one of these?"))
    else:
        lines.append(_("See /{command} for the ids.").format(command=f"{kind}s"))
    if literal:
        words = " ".join(word.split("-"))
        text = _("To follow news matching words instead, write them out: {words} or {phrase}.")
        lines.append(
            text.format(
                words=f"<code>/watch {escape(words)}</code>",
                phrase=f'<code>/watch "{escape(word)}"</code>',
            )
        )
    buttons = tuple(
        (Button(s, data=f"{action}:{s}"),)
        for s in suggestions
        if len(f"{action}:{s}".encode()) <= CALLBACK_DATA_MAX
    )
    return Rendered("\n".join(lines), buttons)
