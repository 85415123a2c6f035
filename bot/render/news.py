"""News messages: one story, a group of stories, digests, deadline proposals, source health.

Payload contract for a story (alert kind "news", and each entry of "news_group" and
"news_digest" `items`):
    item_id, title, link, source, published_at (ISO or None), topic_slug, topic_title,
    more_sources: [{name, link}],
    deadline: {slug, title, due_at (ISO), all_day, timezone} or None: the deadline the item
        concerns, as the receiving chat may see it (its countdown is read when sent),
    why: {terms, field ("title" | "summary"), text, marks: [[start, end], ...]} or None: where
        the topic's words stand in the title or a summary excerpt (shown in bold).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from bot.domain.query import QuerySyntaxError
from bot.domain.text import ReaderError
from bot.render.common import (
    Button,
    Rendered,
    count_of,
    countdown,
    escape,
    format_due,
    reader_error,
    title_link,
)
from bot.render.i18n import N_, _, ngettext, number

NEWS_HELP: tuple[tuple[str, str, str], ...] = (
    (
        "watch",
        '/watch "rare earth" export -opinion',
        N_("follow news matching a query (or a topic id)"),
    ),
    ("unwatch", "/unwatch oecd-outlook", N_("stop following a topic")),
    ("topics", "/topics", N_("the topics you follow and the ones you can follow")),
    ("news", "/news rare-earths", N_("the latest news on your topics (or one topic)")),
    ("sources", "/sources", N_("health of every news source (Herald admins)")),
    (
        "import",
        "/import (as a reply to an OPML file)",
        N_("add the feeds of an OPML file (admins)"),
    ),
)

MAX_LISTED_STORIES = 25
MAX_MORE_LINKS = 3
MAX_DEADLINE_BUTTONS = 3
CALLBACK_DATA_BYTES = 64  # Telegram's limit on a button's callback data


def age(published_at: str | None, now: datetime) -> str:
    """'just now', '25 min ago', '3 h ago', '2 days ago' (empty when unknown)."""
    if not published_at:
        return ""
    seconds = (now - datetime.fromisoformat(published_at)).total_seconds()
    if seconds < 120:
        return _("just now")
    if seconds < 3600:
        return _("{minutes} min ago").format(minutes=int(seconds // 60))
    if seconds < 2 * 86400:
        return _("{hours} h ago").format(hours=int(seconds // 3600))
    days = int(seconds // 86400)
    return ngettext("{n} day ago", "{n} days ago", days).format(n=days)


def _facts(item: dict[str, Any], now: datetime, *, with_topic: bool = True) -> str:
    facts = []
    if item.get("source"):
        facts.append(escape(str(item["source"])))
    more = item.get("more_sources") or []
    if more:
        links = [
            title_link(str(m.get("name") or _("link")), m.get("link"))
            for m in more[:MAX_MORE_LINKS]
        ]
        facts.append(_("+{count} more: {links}").format(count=len(more), links=", ".join(links)))
    if with_topic and item.get("topic_title"):
        facts.append(escape(str(item["topic_title"])))
    when = age(item.get("published_at"), now)
    if when:
        facts.append(when)
    return " · ".join(facts)


def marked(text: str, marks: Sequence[Sequence[int]]) -> str:
    """`text` escaped, with the spans `marks` in bold; spans out of range or overlapping an
    earlier one are ignored, so any payload gives valid HTML."""
    out: list[str] = []
    at = 0
    for mark in marks:
        try:
            start, end = int(mark[0]), int(mark[1])
        except (TypeError, ValueError, IndexError):
            continue
        if start < at or end <= start or end > len(text):
            continue
        out.append(escape(text[at:start]))
        out.append(f"<b>{escape(text[start:end])}</b>")
        at = end
    out.append(escape(text[at:]))
    return "".join(out)


def _why(item: dict[str, Any]) -> dict[str, Any] | None:
    why = item.get("why")
    return why if isinstance(why, dict) and isinstance(why.get("text"), str) else None


def headline(item: dict[str, Any]) -> str:
    """The title linked; the topic's words in it in bold when the payload says where they are."""
    title = str(item["title"])
    why = _why(item)
    if why is None or why.get("field") != "title" or why["text"] != title:
        return title_link(title, item.get("link"))
    inner = marked(title, why.get("marks") or [])
    link = item.get("link")
    return f'<a href="{escape(str(link), quote=True)}">{inner}</a>' if link else inner


def excerpt(item: dict[str, Any]) -> str:
    """'“… the <b>rare earth</b> magnets …”' when the topic's words are only in the summary."""
    why = _why(item)
    if why is None or why.get("field") != "summary":
        return ""
    return f"“{marked(why['text'], why.get('marks') or [])}”"


def about_deadline(item: dict[str, Any], now: datetime) -> str:
    """'⏳ About: <b>UK–US trade deal deadline</b>, in 33 days'."""
    deadline = item.get("deadline")
    if not isinstance(deadline, dict) or not deadline.get("title"):
        return ""
    line = _("⏳ About: {title}").format(title=f"<b>{escape(str(deadline['title']))}</b>")
    if deadline.get("due_at"):
        due = datetime.fromisoformat(str(deadline["due_at"]))
        line += f", {countdown(due, now, bool(deadline.get('all_day')))}"
    return line


def deadline_buttons(items: Sequence[dict[str, Any]]) -> tuple[Button, ...]:
    """One button per deadline the stories concern, opening it (as /deadline does)."""
    buttons: list[Button] = []
    seen: set[str] = set()
    for item in items:
        deadline = item.get("deadline")
        if not isinstance(deadline, dict) or not deadline.get("slug"):
            continue
        slug = str(deadline["slug"])
        data = f"dd:{slug}"
        if slug in seen or len(data.encode()) > CALLBACK_DATA_BYTES:
            continue
        seen.add(slug)
        buttons.append(Button(f"⏳ {deadline.get('title') or slug}"[:60], data=data))
        if len(buttons) == MAX_DEADLINE_BUTTONS:
            break
    return tuple(buttons)


def news(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:  # noqa: ARG001  AlertRenderer signature
    """One story: headline linked (the topic's words in bold), source and '+N more', topic,
    age, the deadline it concerns with its countdown; preview on."""
    why = _why(payload)
    head = headline(payload)
    if why is None:  # an alert written before alerts said why: the whole headline in bold
        head = f"<b>{head}</b>"
    lines = [f"📰 {head}", excerpt(payload), _facts(payload, now), about_deadline(payload, now)]
    rows: list[tuple[Button, ...]] = []
    if deadline_buttons([payload]):
        rows.append(deadline_buttons([payload]))
    if payload.get("topic_slug"):
        rows.append((Button(_("Mute topic"), data=f"mt:{payload['topic_slug']}"),))
    return Rendered("\n".join(line for line in lines if line), tuple(rows), preview=True)


def _story_line(item: dict[str, Any], now: datetime, *, with_topic: bool = True) -> str:
    facts = _facts(item, now, with_topic=with_topic)
    line = f"• {headline(item)}" + (f" — {facts}" if facts else "")
    for extra in (excerpt(item), about_deadline(item, now)):
        if extra:
            line += f"\n  {extra}"
    return line


def news_group(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:  # noqa: ARG001  AlertRenderer signature
    """Several stories for one chat that arrived together: one message, no preview."""
    items = list(payload.get("items", []))
    head = ngettext(
        "📰 <b>{n} new story on your topics</b>",
        "📰 <b>{n} new stories on your topics</b>",
        len(items),
    )
    lines = [count_of(len(items), head)]
    lines += [_story_line(item, now) for item in items[:MAX_LISTED_STORIES]]
    if len(items) > MAX_LISTED_STORIES:
        lines.append(_("…and {count} more: /news").format(count=len(items) - MAX_LISTED_STORIES))
    buttons = deadline_buttons(items[:MAX_LISTED_STORIES])
    return Rendered("\n".join(lines), (buttons,) if buttons else ())


def news_digest(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:  # noqa: ARG001  AlertRenderer signature
    """The periodic digest: stories grouped by topic."""
    items = list(payload.get("items", []))
    period = str(payload.get("period", "daily"))
    if period == "daily":
        title = _("🗞 <b>Your daily digest</b>")
    elif period == "hourly":
        title = _("🗞 <b>Your hourly digest</b>")
    else:
        title = _("🗞 <b>Your {period} digest</b>").format(period=escape(period))
    stories = count_of(len(items), ngettext("{n} story", "{n} stories", len(items)))
    lines = [f"{title}: {stories}"]
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_topic.setdefault(str(item.get("topic_title") or _("Other")), []).append(item)
    shown = 0
    for topic, topic_items in by_topic.items():
        lines.append("")
        lines.append(f"<b>{escape(topic)}</b>")
        for item in topic_items:
            if shown >= MAX_LISTED_STORIES:
                break
            lines.append(_story_line(item, now, with_topic=False))
            shown += 1
    if len(items) > shown:
        lines.append(_("…and {count} more: /news").format(count=len(items) - shown))
    listed = [item for group in by_topic.values() for item in group][:shown]
    buttons = deadline_buttons(listed)
    return Rendered("\n".join(lines), (buttons,) if buttons else ())


def deadline_proposal(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:  # noqa: ARG001  AlertRenderer signature
    """A deadline found in the news: never added without a click."""
    found = date.fromisoformat(str(payload["date"]))
    when = format_due(datetime(found.year, found.month, found.day), "UTC", True)
    item = payload.get("item") or {}
    if payload.get("change") == "suggested":
        title = escape(str(payload["deadline_title"]))
        slug = escape(str(payload["deadline_slug"]))
        head = _("📅 <b>Deadline change in the news</b>: {title} → {when}").format(
            title=title, when=when
        )
        head += "\n" + _(
            "{id} comes from config.yaml or a calendar: if the news is right, change it there."
        ).format(id=f"<code>{slug}</code>")
        accept = ""
    elif payload.get("change") == "moved":
        title = escape(str(payload["deadline_title"]))
        head = _("📅 <b>Deadline change in the news</b>: {title} → {when}").format(
            title=title, when=when
        )
        accept = _("Move deadline")
    else:
        head = _("🔎 <b>Possible deadline</b>: {what} — {when}").format(
            what=escape(str(payload["what"])), when=when
        )
        accept = _("Track")
    lines = [head, f"“{escape(str(payload.get('sentence', '')))}”"]
    if item.get("title"):
        lines.append(
            _("Source: {link}").format(link=title_link(str(item["title"]), item.get("link")))
        )
    proposal = payload["proposal_id"]
    ignore = Button(_("Ignore"), data=f"pa:{proposal}:no")
    buttons = (Button(accept, data=f"pa:{proposal}:ok"), ignore) if accept else (ignore,)
    return Rendered("\n".join(lines), (buttons,))


def source_health(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:  # noqa: ARG001  AlertRenderer signature
    """For admins: a source started failing, recovered, or went quiet."""
    name = escape(str(payload.get("name") or payload.get("url")))
    state = payload.get("state")
    if state == "failing":
        failures = int(payload.get("failures", 0))
        text = _("⚠️ <b>Source failing</b>: {name}").format(name=name) + "\n"
        text += ngettext(
            "{n} failure in a row; last error: {error}",
            "{n} failures in a row; last error: {error}",
            failures,
        ).format(n=number(failures), error=escape(str(payload.get("error", "unknown"))))
    elif state == "recovered":
        text = _("✅ <b>Source recovered</b>: {name}").format(name=name)
    else:
        last = payload.get("last_new_item_at")
        since = format_due(datetime.fromisoformat(last), zone, False) if last else _("never")
        text = _("💤 <b>Source quiet</b>: {name}").format(name=name) + "\n"
        text += _("Nothing new since {since}.").format(since=since)
    return Rendered(text)


# --- replies to the news commands ---------------------------------------------------------


class TopicRow(Protocol):
    @property
    def slug(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def query(self) -> str: ...
    @property
    def followed(self) -> bool: ...
    @property
    def muted(self) -> bool: ...
    @property
    def own(self) -> bool: ...


class StoryRow(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def link(self) -> str | None: ...
    @property
    def source(self) -> str | None: ...
    @property
    def published_at(self) -> datetime | None: ...
    @property
    def topic_title(self) -> str: ...


class SourceRow(Protocol):
    @property
    def name(self) -> str | None: ...
    @property
    def url(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def last_success_at(self) -> datetime | None: ...
    @property
    def last_new_item_at(self) -> datetime | None: ...
    @property
    def next_check_at(self) -> datetime: ...
    @property
    def consecutive_failures(self) -> int: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def quiet_reported(self) -> bool: ...
    @property
    def items_seen(self) -> int: ...


def invalid_query(query: str, error: QuerySyntaxError) -> Rendered:
    """The parser's message, and a caret under the place it points at."""
    message, position = reader_error(error), error.position
    shown = "".join(" " if ch.isspace() else ch for ch in query)
    return Rendered(
        _("I couldn't read that query: {message}").format(message=escape(message))
        + f"\n<pre>{escape(shown)}\n{' ' * position}^</pre>\n"
        + _("Nothing was changed. The syntax: /help, or docs/topics.md.")
    )


def watched(slug: str, title: str, query: str, created: bool) -> Rendered:
    head = _("👀 Watching {title} (id {id})") if created else _("👀 You follow {title} (id {id})")
    return Rendered(
        head.format(title=f"<b>{escape(title)}</b>", id=f"<code>{escape(slug)}</code>")
        + "\n"
        + _("Query: {query}").format(query=f"<code>{escape(query)}</code>")
        + "\n"
        + _("New matching items will be pushed here. /unwatch {slug} to stop.").format(
            slug=escape(slug)
        )
    )


def unwatched(slug: str, title: str, was_followed: bool) -> Rendered:
    if not was_followed:
        return Rendered(_("You weren't following <b>{title}</b>.").format(title=escape(title)))
    return Rendered(
        _("🔕 You no longer follow <b>{title}</b> ({id}).").format(
            title=escape(title), id=f"<code>{escape(slug)}</code>"
        )
    )


def topic_not_found(slug: str) -> Rendered:
    return Rendered(
        _("No topic with id {id}. See /topics for the ids.").format(
            id=f"<code>{escape(slug)}</code>"
        )
    )


def topic_list(rows: Sequence[TopicRow]) -> Rendered:
    followed = [r for r in rows if r.followed]
    others = [r for r in rows if not r.followed]
    lines = ["<b>" + _("Topics you follow") + "</b>"]
    for row in followed:
        muted = " · " + _("🔕 muted") if row.muted else ""
        lines.append(f"• <code>{escape(row.slug)}</code> {escape(row.title)}{muted}")
    if not followed:
        lines.append(_("None yet: /watch a query, or /watch one of the ids below."))
    if others:
        lines += ["", _("<b>You can also follow</b> (/watch id)")]
        lines += [f"• <code>{escape(r.slug)}</code> {escape(r.title)}" for r in others]
    return Rendered("\n".join(lines))


def news_list(rows: Sequence[StoryRow], topic: str | None, now: datetime) -> Rendered:
    if not rows:
        empty = (
            _("No news on {topic} yet. New items are pushed as they come.")
            if topic
            else _("No news on your topics yet. New items are pushed as they come.")
        )
        return Rendered(empty.format(topic=escape(topic or "")))
    head = (
        _("📰 <b>Latest news on {topic}</b>")
        if topic
        else _("📰 <b>Latest news on your topics</b>")
    )
    lines = [head.format(topic=escape(topic or ""))]
    for row in rows:
        facts = [escape(row.source)] if row.source else []
        if not topic:
            facts.append(escape(row.topic_title))
        when = age(row.published_at.isoformat() if row.published_at else None, now)
        if when:
            facts.append(when)
        line = f"• {title_link(row.title, row.link)}"
        lines.append(line + (f" — {' · '.join(facts)}" if facts else ""))
    return Rendered("\n".join(lines))


def _source_state(row: SourceRow) -> str:
    if row.consecutive_failures:
        count = row.consecutive_failures
        failures = count_of(count, ngettext("{n} failure", "{n} failures", count))
        return f"⚠️ {failures}: {escape(row.last_error or 'unknown')}"
    if row.last_success_at is None:
        return _("⏳ not checked yet")
    if row.quiet_reported:
        return _("💤 quiet")
    return _("✅ ok")


def sources_health(rows: Sequence[SourceRow], zone: str) -> Rendered:
    if not rows:
        return Rendered(_("No news sources yet: add them to config.yaml or /import an OPML file."))
    count = len(rows)
    lines = [
        "<b>" + count_of(count, ngettext("{n} news source", "{n} news sources", count)) + "</b>"
    ]
    for row in rows:
        name = escape(row.name or row.url)
        last = format_due(row.last_success_at, zone, False) if row.last_success_at else _("never")
        items = count_of(row.items_seen, ngettext("{n} item", "{n} items", row.items_seen))
        lines.append(
            f"• {name} — {_source_state(row)}\n  "
            + _("last success {last}; next check {next}; {items}").format(
                last=last, next=format_due(row.next_check_at, zone, False), items=items
            )
        )
    return Rendered("\n".join(lines))


def admins_only() -> Rendered:
    return Rendered(_("Only Herald's admins can do that."))


def topic_muted(title: str, slug: str) -> str:
    """Button answer (plain text, shown as a toast)."""
    return _("Muted {title}. /unmute topic {slug} to hear it again.").format(title=title, slug=slug)


def opml_imported(added: int, present: int, refused: Sequence[str]) -> Rendered:
    sources = count_of(added, ngettext("{n} source", "{n} sources", added))
    there = ngettext("{n} was already there", "{n} were already there", present).format(
        n=number(present)
    )
    lines = [_("📥 Added {sources}; {there}.").format(sources=sources, there=there)]
    if refused:
        lines.append(_("Refused {count}:").format(count=len(refused)))
        lines += [f"• {escape(reason)}" for reason in refused[:20]]
    return Rendered("\n".join(lines))


def opml_unreadable(message: str | ReaderError) -> Rendered:
    return Rendered(
        _(
            "I couldn't read that OPML file: {message}. "
            "Send the file, then reply to it with /import."
        ).format(message=escape(reader_error(message)))
    )


ALERT_RENDERERS = {
    "news": news,
    "news_group": news_group,
    "news_digest": news_digest,
    "deadline_proposal": deadline_proposal,
    "source_health": source_health,
}


def watch_purpose() -> str:
    return _("Follow news matching a Google-Alerts style query, or a topic id from /topics.")


def unwatch_purpose() -> str:
    return _("Stop following a topic.")


def topic_limit(limit: int) -> str:
    return ngettext(
        "This chat already has {n} topic of its own, the most it may have. "
        "Stop one with /unwatch first.",
        "This chat already has {n} topics of its own, the most it may have. "
        "Stop one with /unwatch first.",
        limit,
    ).format(n=number(limit))


def topic_gone() -> str:
    return _("You no longer follow that topic.")


def opml_no_file() -> str:
    return _("no file: reply to the OPML file itself")


def opml_too_large(max_bytes: int) -> str:
    return _("it is larger than {bytes} bytes").format(bytes=number(max_bytes))


def source_refused(url: str, reason: str | ReaderError) -> str:
    """A URL a chat may not add (plain text; `reason` comes from the address check)."""
    return _("{url} is refused: {reason}").format(url=url, reason=reader_error(reason))


def source_limit_reached(url: str) -> str:
    return _("{url}: this chat has as many sources as it may").format(url=url)
