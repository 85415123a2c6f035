"""News commands end to end through the fake Bot API: /watch, /unwatch, /topics, /news,
/sources, /import of an OPML file, and the [Mute topic] button."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
from sqlmodel import col, select

from bot.config import LimitsConfig
from bot.domain.opml import MAX_OPML_BYTES
from bot.interface.app import HeraldBot
from bot.store.db import session_scope
from bot.store.models import Source, Topic, TopicSubscription
from tests.fakebot import FakeBotAPI, ServedAPI, _MethodHandler
from tests.feed_server import FeedServer, Route, rss
from tests.helpers import say

ADA, BEN, ADMIN = 8101, 8102, 8001
GROUP = -100777
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OPML = b"""<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
<outline text="Trade"><outline text="Public" type="rss" xmlUrl="http://93.184.216.34/feed.xml"/>
<outline text="Local" type="rss" xmlUrl="http://127.0.0.1:8080/feed.xml"/>
<outline text="Metadata" type="rss" xmlUrl="http://169.254.169.254/latest"/>
<outline text="File" type="rss" xmlUrl="file:///etc/passwd"/></outline></body></opml>"""


@dataclass
class FilesBotAPI(FakeBotAPI):
    """The fake Bot API plus getFile and file downloads."""

    files: dict[str, bytes] = field(default_factory=dict)

    async def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getFile":
            file_id = str(params["file_id"])
            self.calls.append(type(self.calls[0])(method, params, time.time()))
            result = {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}.opml",
            }
            return 200, {"ok": True, "result": result}
        return await super().handle(method, params)

    async def push_reply_to_document(self, chat_id: int, text: str, file_id: str) -> None:
        chat = {"id": chat_id, "type": "private", "first_name": "Ada"}
        user = {"id": chat_id, "is_bot": False, "first_name": "Ada"}
        document = {"file_id": file_id, "file_unique_id": file_id, "file_name": "feeds.opml"}
        original = {"message_id": 500, "date": int(time.time()), "chat": chat, "from": user}
        message = {
            "message_id": 501,
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
            "reply_to_message": original | {"document": document},
        }
        self.updates.append({"update_id": next(self._update_ids), "message": message})
        await self._notify()

    async def push_document(self, chat_id: int, file_id: str, file_size: int | None = None) -> None:
        """A person sends a file (no command); `file_size` is what Telegram says of it."""
        chat = {"id": chat_id, "type": "private", "first_name": "Ada"}
        user = {"id": chat_id, "is_bot": False, "first_name": "Ada"}
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": "feeds.opml",
        }
        if file_size is not None:
            document["file_size"] = file_size
        message = {
            "message_id": 502,
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "document": document,
        }
        self.updates.append({"update_id": next(self._update_ids), "message": message})
        await self._notify()


class _FileHandler(tornado.web.RequestHandler):
    def initialize(self, api: FilesBotAPI) -> None:
        self.api = api

    def get(self, token: str, path: str) -> None:
        self.finish(self.api.files[path.removeprefix("documents/").removesuffix(".opml")])


@pytest.fixture
async def bot_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ServedAPI]:
    api = FilesBotAPI()
    app = tornado.web.Application(
        [
            (r"/bot([^/]+)/(\w+)", _MethodHandler, {"api": api}),
            (r"/file/bot([^/]+)/(.+)", _FileHandler, {"api": api}),
        ]
    )
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    served = ServedAPI(api, server, f"http://127.0.0.1:{sockets[0].getsockname()[1]}/bot")
    monkeypatch.setenv("TELEGRAM_API_URL", served.base_url)
    yield served
    server.stop()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as running:
        running.set("/a.xml", Route(body=rss([("a1", "Rare earth exports curbed", T0)])))
        yield running


@pytest.fixture
def herald_config(feeds: FeedServer) -> str:
    return (
        f"admins: [{ADMIN}]\ndelivery: {{group_window_s: 0}}\n"
        "topics:\n  - id: rare-earths\n    title: Rare earths\n    query: '\"rare earth\"'\n"
        f"sources:\n  - url: {feeds.url('/a.xml')}\n    name: Local wire\n"
    )


async def test_watch_bad_query_gets_the_position_and_changes_nothing(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    answer = await say(bot_api, ADA, "/watch tariffs OR -steel")
    assert answer == (
        "I couldn't read that query: exclusion next to OR at position 8 cannot be an "
        "alternative; move it out of the OR\n<pre>tariffs OR -steel\n        ^</pre>\n"
        "Nothing was changed. The syntax: /help, or docs/topics.md."
    )
    with session_scope(herald.runtime.engine) as session:
        assert session.exec(select(Topic).where(Topic.origin == "chat")).all() == []
    usage = await say(bot_api, ADA, "/watch")
    assert usage.startswith('Usage: <code>/watch "rare earth" export -opinion</code>')


def chat_topics(herald: HeraldBot) -> list[tuple[str, int | None]]:
    with session_scope(herald.runtime.engine) as session:
        topics = session.exec(select(Topic).where(Topic.origin == "chat")).all()
        return [(topic.slug, topic.owner_chat_id) for topic in topics]


async def test_a_watched_query_is_a_chat_topic_listed_by_topics_until_unwatched(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    answer = await say(bot_api, ADA, '/watch "chip export" controls')
    assert answer.startswith('👀 Watching <b>"chip export" controls</b>')
    assert "(id <code>chip-export-controls</code>)" in answer
    assert chat_topics(herald) == [("chip-export-controls", ADA)]
    listing = await say(bot_api, ADA, "/topics")
    assert listing == (
        "<b>Topics you follow</b>\n"
        '• <code>chip-export-controls</code> "chip export" controls\n'
        "• <code>rare-earths</code> Rare earths"
    )
    gone = await say(bot_api, ADA, "/unwatch chip-export-controls")
    assert (
        gone
        == '🔕 You no longer follow <b>"chip export" controls</b> (<code>chip-export-controls</code>).'
    )
    assert chat_topics(herald) == []


async def test_another_chat_cannot_see_or_unwatch_a_chats_own_topic(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    await say(bot_api, ADA, '/watch "chip export" controls')
    await say(bot_api, BEN, "/start")
    assert (await say(bot_api, BEN, "/unwatch chip-export-controls")).startswith("No topic with id")
    assert chat_topics(herald) == [("chip-export-controls", ADA)]
    assert "chip-export-controls" not in await say(bot_api, BEN, "/topics")


async def test_a_config_topic_unwatched_is_offered_and_can_be_watched_again_by_its_id(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, BEN, "/start")
    await say(bot_api, BEN, "/unwatch rare-earths")
    offered = "<b>You can also follow</b> (/watch id)\n• <code>rare-earths</code> Rare earths"
    assert offered in await say(bot_api, BEN, "/topics")
    again = await say(bot_api, BEN, "/watch rare-earths")
    assert again.startswith("👀 You follow <b>Rare earths</b> (id <code>rare-earths</code>)")
    assert await say(bot_api, BEN, "/topics") == (
        "<b>Topics you follow</b>\n• <code>rare-earths</code> Rare earths"
    )
    assert chat_topics(herald) == []  # the config topic itself, not a new query "rare-earths"


async def test_news_lists_matched_items_and_mute_button(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    poller = herald.runtime.news_poller()
    await poller.wait_idle()
    await poller.run_due(datetime.now(UTC) + timedelta(hours=1))
    listing = await say(bot_api, ADA, "/news")
    assert listing.startswith("📰 <b>Latest news on your topics</b>\n")
    assert (
        '<a href="https://news.test/a1">Rare earth exports curbed</a> — Local wire · Rare earths'
        in listing
    )
    one = await say(bot_api, ADA, "/news rare-earths")
    assert one.startswith("📰 <b>Latest news on Rare earths</b>")
    assert (await say(bot_api, ADA, "/news nope")).startswith("No topic with id <code>nope</code>")

    await bot_api.api.press(ADA, "mt:rare-earths")
    await bot_api.api.wait_for(
        lambda: any(
            c.method == "answerCallbackQuery"
            and c.params.get("text")
            == "Muted Rare earths. /unmute topic rare-earths to hear it again."
            for c in bot_api.api.calls
        )
    )
    with session_scope(herald.runtime.engine) as session:
        [sub] = session.exec(
            select(TopicSubscription).where(TopicSubscription.chat_id == ADA)
        ).all()
    assert sub.muted_until is not None and sub.muted_until > datetime.now(UTC) + timedelta(
        days=3000
    )
    assert "🔕 muted" in await say(bot_api, ADA, "/topics")


async def test_group_members_cannot_watch(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, GROUP, "/start", chat_type="supergroup", user_id=ADA)
    refused = await say(bot_api, GROUP, "/watch tariffs", chat_type="supergroup", user_id=BEN)
    assert refused == "Only this group's admins can change its deadlines and settings."


async def test_sources_health_is_for_admins(herald: HeraldBot, bot_api: ServedAPI) -> None:
    assert await say(bot_api, ADA, "/sources") == "Only Herald's admins can do that."
    await say(bot_api, ADMIN, "/start")
    poller = herald.runtime.news_poller()
    await poller.wait_idle()
    await poller.run_due(datetime.now(UTC) + timedelta(hours=1))
    health = await say(bot_api, ADMIN, "/sources")
    assert health.startswith("<b>1 news source</b>\n• Local wire — ✅ ok\n  last success ")
    assert health.endswith("; 1 item")


async def test_import_opml_refuses_non_public_addresses(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    api = bot_api.api
    assert isinstance(api, FilesBotAPI)
    api.files["opml1"] = OPML
    await say(bot_api, ADMIN, "/start")
    before = len(api.sent(ADMIN))
    await api.push_reply_to_document(ADMIN, "/import", "opml1")
    await api.wait_for(lambda: len(api.sent(ADMIN)) > before)
    answer = str(api.sent(ADMIN)[before].params["text"])
    assert answer.startswith("📥 Added 1 source; 0 were already there.\nRefused 3:\n")
    assert "http://127.0.0.1:8080/feed.xml is refused: " in answer
    assert "http://169.254.169.254/latest is refused: " in answer
    assert "File: not an http(s) URL: 'file:///etc/passwd'" in answer
    with session_scope(herald.runtime.engine) as session:
        [added] = session.exec(select(Source).where(Source.origin == "chat")).all()
    assert (added.url, added.trusted, added.owner_chat_id) == (
        "http://93.184.216.34/feed.xml",
        False,
        ADMIN,
    )
    before = len(api.sent(ADA))
    await api.push_reply_to_document(ADA, "/import", "opml1")
    await api.wait_for(lambda: len(api.sent(ADA)) > before)
    assert api.sent(ADA)[before].params["text"] == "Only Herald's admins can do that."


async def test_an_opml_file_sent_by_an_admin_is_imported_at_once(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    api = bot_api.api
    assert isinstance(api, FilesBotAPI)
    api.files["opml2"] = OPML
    await say(bot_api, ADMIN, "/start")
    before = len(api.sent(ADMIN))
    await api.push_document(ADMIN, "opml2")
    await api.wait_for(lambda: len(api.sent(ADMIN)) > before)
    assert str(api.sent(ADMIN)[before].params["text"]).startswith("📥 Added 1 source;")


async def test_a_chat_imports_no_more_sources_than_its_limit(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    api = bot_api.api
    assert isinstance(api, FilesBotAPI)
    api.files["opml3"] = OPML.replace(b"93.184.216.34", b"93.184.216.35")
    limits = LimitsConfig(sources_per_chat=0)
    herald.runtime.config = herald.runtime.config.model_copy(update={"limits": limits})
    await say(bot_api, ADMIN, "/start")
    before = len(api.sent(ADMIN))
    await api.push_document(ADMIN, "opml3")
    await api.wait_for(lambda: len(api.sent(ADMIN)) > before)
    answer = str(api.sent(ADMIN)[before].params["text"])
    assert answer.startswith("📥 Added 0 sources")
    assert "http://93.184.216.35/feed.xml: this chat has as many sources as it may" in answer
    with session_scope(herald.runtime.engine) as session:
        assert session.exec(select(Source).where(Source.origin == "chat")).all() == []


async def press_for_reply(api: ServedAPI, chat_id: int, data: str) -> str:
    """Press a button; return the message Herald sends to the chat in answer."""
    before = len(api.api.sent(chat_id))
    await api.api.press(chat_id, data)
    await api.api.wait_for(lambda: len(api.api.sent(chat_id)) > before)
    return str(api.api.sent(chat_id)[before].params["text"])


def followed_topics(herald: HeraldBot, chat_id: int) -> list[str]:
    with session_scope(herald.runtime.engine) as session:
        subscriptions = session.exec(
            select(TopicSubscription).where(TopicSubscription.chat_id == chat_id)
        ).all()
        return sorted(
            str(session.get(Topic, s.topic_id).slug)  # type: ignore[union-attr]
            for s in subscriptions
        )


async def test_watching_a_mistyped_topic_id_offers_the_close_ones_and_a_press_follows_it(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, BEN, "/start")
    await say(bot_api, BEN, "/unwatch rare-earths")
    assert followed_topics(herald, BEN) == []
    answer = await say(bot_api, BEN, "/watch rare-earth")
    assert answer.startswith(
        "No topic with id <code>rare-earth</code>.\nDid you mean one of these?\n"
        "To follow news matching words instead, write them out: "
    )
    assert bot_api.api.buttons(bot_api.api.sent(BEN)[-1]) == [("rare-earths", "wt:rare-earths")]
    assert followed_topics(herald, BEN) == []

    followed = await press_for_reply(bot_api, BEN, "wt:rare-earths")
    assert followed.startswith("👀 You follow <b>Rare earths</b> (id <code>rare-earths</code>)")
    assert followed_topics(herald, BEN) == ["rare-earths"]


async def test_a_forged_watch_button_never_creates_a_topic_from_its_data(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    """The button's data is only ever a suggested topic id: words in it are not a new query."""
    await say(bot_api, BEN, "/start")
    await say(bot_api, BEN, "/unwatch rare-earths")
    with session_scope(herald.runtime.engine) as session:
        topics_before = session.exec(select(Topic.slug)).all()

    answer = await press_for_reply(bot_api, BEN, "wt:gallium")
    assert answer.startswith("No topic with id <code>gallium</code>.")
    with session_scope(herald.runtime.engine) as session:
        assert session.exec(select(Topic.slug)).all() == topics_before
    assert followed_topics(herald, BEN) == []


async def test_unwatching_a_mistyped_topic_id_offers_the_close_ones_and_a_press_unfollows_it(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    assert followed_topics(herald, ADA) == ["rare-earths"]
    answer = await say(bot_api, ADA, "/unwatch rare-earth")
    assert answer == "No topic with id <code>rare-earth</code>.\nDid you mean one of these?"
    assert bot_api.api.buttons(bot_api.api.sent(ADA)[-1]) == [("rare-earths", "uw:rare-earths")]
    assert followed_topics(herald, ADA) == ["rare-earths"]

    gone = await press_for_reply(bot_api, ADA, "uw:rare-earths")
    assert gone == "🔕 You no longer follow <b>Rare earths</b> (<code>rare-earths</code>)."
    assert followed_topics(herald, ADA) == []
    again = await press_for_reply(bot_api, ADA, "uw:rare-earths")
    assert again == "You weren't following <b>Rare earths</b>."
    unknown = await press_for_reply(bot_api, ADA, "uw:no-such-topic")
    assert unknown == "No topic with id <code>no-such-topic</code>. See /topics for the ids."


async def test_muting_a_topic_that_is_gone_answers_so_and_mutes_nothing(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    await bot_api.api.press(ADA, "mt:no-such-topic")
    await bot_api.api.wait_for(lambda: len(bot_api.api.answers()) > 0)
    assert bot_api.api.answers()[0].params.get("text") == "You no longer follow that topic."
    with session_scope(herald.runtime.engine) as session:
        muted = session.exec(
            select(TopicSubscription).where(col(TopicSubscription.muted_until).is_not(None))
        ).all()
    assert muted == []


async def test_an_import_without_a_readable_opml_file_says_why_and_adds_nothing(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    api = bot_api.api
    assert isinstance(api, FilesBotAPI)
    api.files["junk"] = b"<html><body>not an outline</body></html>"
    api.files["huge"] = OPML
    await say(bot_api, ADMIN, "/start")
    tail = ". Send the file, then reply to it with /import."
    no_file = await say(bot_api, ADMIN, "/import")
    assert no_file == (
        "I couldn't read that OPML file: no file: reply to the OPML file itself" + tail
    )

    async def sent_after_upload(file_id: str, file_size: int | None = None) -> str:
        before = len(api.sent(ADMIN))
        await api.push_document(ADMIN, file_id, file_size)
        await api.wait_for(lambda: len(api.sent(ADMIN)) > before)
        return str(api.sent(ADMIN)[before].params["text"])

    unreadable = await sent_after_upload("junk")
    assert unreadable == (
        "I couldn't read that OPML file: not an OPML document (no &lt;opml&gt;&lt;body&gt;)" + tail
    )
    too_large = await sent_after_upload("huge", MAX_OPML_BYTES + 1)
    assert too_large == (
        f"I couldn't read that OPML file: it is larger than {MAX_OPML_BYTES:,} bytes" + tail
    )
    assert not any(c.method == "getFile" and c.params["file_id"] == "huge" for c in api.calls)
    with session_scope(herald.runtime.engine) as session:
        assert session.exec(select(Source).where(Source.origin == "chat")).all() == []
