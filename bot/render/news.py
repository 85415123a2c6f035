"""News messages: one story, a group of stories, digests, deadline proposals, source health.

Payload contract for a story (alert kind "news", and each entry of "news_group" and
"news_digest" `items`):
    item_id, title, link, source, published_at (ISO or None), topic_slug, topic_title,
    more_sources: [{name, link}], deadline: {slug, title} or None.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.render.common import Button, Rendered, escape, format_due, title_link

NEWS_HELP: tuple[tuple[str, str, str], ...] = ()

MAX_LISTED_STORIES = 25
MAX_MORE_LINKS = 3


def age(published_at: str | None, now: datetime) -> str:
    """'just now', '25 min ago', '3 h ago', '2 days ago' (empty when unknown)."""
    if not published_at:
        return ""
    seconds = (now - datetime.fromisoformat(published_at)).total_seconds()
    if seconds < 120:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def _facts(item: dict[str, Any], now: datetime, *, with_topic: bool = True) -> str:
    facts = []
    if item.get("source"):
        facts.append(escape(str(item["source"])))
    more = item.get("more_sources") or []
    if more:
        links = [
            title_link(str(m.get("name") or "link"), m.get("link")) for m in more[:MAX_MORE_LINKS]
        ]
        facts.append(f"+{len(more)} more: " + ", ".join(links))
    if with_topic and item.get("topic_title"):
        facts.append(escape(str(item["topic_title"])))
    when = age(item.get("published_at"), now)
    if when:
        facts.append(when)
    return " · ".join(facts)


def news(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    """One story: headline linked, source and '+N more', topic, age; preview on."""
    lines = [
        f"📰 <b>{title_link(str(payload['title']), payload.get('link'))}</b>",
        _facts(payload, now),
    ]
    deadline = payload.get("deadline")
    if deadline:
        title, slug = escape(str(deadline["title"])), escape(str(deadline["slug"]))
        lines.append(f"About the deadline: {title} (/deadline {slug})")
    buttons = []
    if payload.get("topic_slug"):
        buttons.append(Button("Mute topic", data=f"mt:{payload['topic_slug']}"))
    return Rendered(
        "\n".join(line for line in lines if line),
        (tuple(buttons),) if buttons else (),
        preview=True,
    )


def _story_line(item: dict[str, Any], now: datetime) -> str:
    facts = _facts(item, now)
    return f"• {title_link(str(item['title']), item.get('link'))}" + (
        f" — {facts}" if facts else ""
    )


def news_group(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    """Several stories for one chat that arrived together: one message, no preview."""
    items = list(payload.get("items", []))
    lines = [f"📰 <b>{len(items)} new stories on your topics</b>"]
    lines += [_story_line(item, now) for item in items[:MAX_LISTED_STORIES]]
    if len(items) > MAX_LISTED_STORIES:
        lines.append(f"…and {len(items) - MAX_LISTED_STORIES} more: /news")
    return Rendered("\n".join(lines))


def news_digest(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    """The periodic digest: stories grouped by topic."""
    items = list(payload.get("items", []))
    period = str(payload.get("period", "daily"))
    lines = [f"🗞 <b>Your {escape(period)} digest</b>: {len(items)} stories"]
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_topic.setdefault(str(item.get("topic_title") or "Other"), []).append(item)
    shown = 0
    for topic, stories in by_topic.items():
        lines.append("")
        lines.append(f"<b>{escape(topic)}</b>")
        for item in stories:
            if shown >= MAX_LISTED_STORIES:
                break
            link = title_link(str(item["title"]), item.get("link"))
            lines.append(f"• {link} — {_facts(item, now, with_topic=False)}")
            shown += 1
    if len(items) > shown:
        lines.append(f"…and {len(items) - shown} more: /news")
    return Rendered("\n".join(lines))


def deadline_proposal(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    """A deadline found in the news: never added without a click."""
    found = date.fromisoformat(str(payload["date"]))
    when = f"{found:%a} {found.day} {found:%b %Y}"
    item = payload.get("item") or {}
    if payload.get("change") == "moved":
        title = escape(str(payload["deadline_title"]))
        head = f"📅 <b>Deadline change in the news</b>: {title} → {when}"
        accept = "Move deadline"
    else:
        head = f"🔎 <b>Possible deadline</b>: {escape(str(payload['what']))} — {when}"
        accept = "Track"
    lines = [head, f"“{escape(str(payload.get('sentence', '')))}”"]
    if item.get("title"):
        lines.append(f"Source: {title_link(str(item['title']), item.get('link'))}")
    proposal = payload["proposal_id"]
    buttons = (Button(accept, data=f"pa:{proposal}:ok"), Button("Ignore", data=f"pa:{proposal}:no"))
    return Rendered("\n".join(lines), (buttons,))


def source_health(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    """For admins: a source started failing, recovered, or went quiet."""
    name = escape(str(payload.get("name") or payload.get("url")))
    state = payload.get("state")
    if state == "failing":
        text = (
            f"⚠️ <b>Source failing</b>: {name}\n"
            f"{int(payload.get('failures', 0))} failures in a row; "
            f"last error: {escape(str(payload.get('error', 'unknown')))}"
        )
    elif state == "recovered":
        text = f"✅ <b>Source recovered</b>: {name}"
    else:
        last = payload.get("last_new_item_at")
        since = format_due(datetime.fromisoformat(last), zone, False) if last else "never"
        text = f"💤 <b>Source quiet</b>: {name}\nNothing new since {since}."
    return Rendered(text)


ALERT_RENDERERS = {
    "news": news,
    "news_group": news_group,
    "news_digest": news_digest,
    "deadline_proposal": deadline_proposal,
    "source_health": source_health,
}
