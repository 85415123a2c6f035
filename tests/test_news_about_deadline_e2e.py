"""A news alert names the deadline it concerns, with its countdown and a button to it, and says
which of the topic's words it matched: end to end through the real poller, the delivery worker
and the fake Bot API."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.interface.app import HeraldBot
from bot.store.db import session_scope
from bot.store.models import Alert, Deadline, DeadlineSubscription
from tests.fakebot import ServedAPI
from tests.feed_server import FeedServer, Route, rss
from tests.helpers import running_herald, say

ADA, BEN = 8301, 8302
NOW = datetime.now(UTC).replace(microsecond=0)
DUE = NOW + timedelta(days=33, hours=12)
BACKGROUND = [("old", "Markets steady before the long weekend", NOW - timedelta(days=1))]


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as running:
        running.set("/wire.xml", Route(body=rss(BACKGROUND)))
        yield running


@pytest.fixture
async def herald(
    bot_api: ServedAPI, database_url: str, feeds: FeedServer
) -> AsyncIterator[HeraldBot]:
    config = (
        "timezone: Europe/London\ndelivery: {group_window_s: 0}\n"
        "deadlines:\n"
        f"  - {{id: uk-us-deal, title: UK–US trade deal deadline, due: '{DUE:%Y-%m-%dT%H:%M}',"
        " keywords: [UK US trade deal]}\n"
        "topics:\n  - {id: trade, title: Trade, query: 'trade OR tariffs'}\n"
        f"sources:\n  - {{url: '{feeds.url('/wire.xml')}', name: Wire}}\n"
    )
    async with running_herald(config, database_url) as bot:
        yield bot


def news_messages(api: ServedAPI, chat_id: int) -> list[str]:
    return [str(c.params["text"]) for c in api.api.sent(chat_id) if "📰" in str(c.params["text"])]


async def test_alert_names_its_deadline_with_countdown_and_a_button(
    herald: HeraldBot, bot_api: ServedAPI, feeds: FeedServer
) -> None:
    await say(bot_api, ADA, "/start")
    await say(bot_api, BEN, "/start")
    with session_scope(herald.runtime.engine) as session:
        # Ben's own deadline, with the same keywords: Ada must never hear of it.
        private = Deadline(
            slug="ben-private-deal",
            title="Ben's secret deal",
            due_at=NOW + timedelta(days=5, hours=12),
            timezone="Europe/London",
            keywords=["UK US trade deal"],
            origin="chat",
            owner_chat_id=BEN,
        )
        session.add(private)
        session.flush()
        session.add(DeadlineSubscription(chat_id=BEN, deadline_id=private.id or 0))
    poller = herald.runtime.news_poller()
    await poller.wait_idle()
    await poller.run_due(NOW + timedelta(hours=1))  # the baseline: stored, nobody alerted
    headline = 'UK &amp; US near trade deal as "tariff" talks run late'
    feeds.set(
        "/wire.xml",
        Route(body=rss([("deal", headline, NOW - timedelta(minutes=5)), *BACKGROUND])),
    )
    await poller.run_due(NOW + timedelta(hours=2))
    api = bot_api.api
    await api.wait_for(lambda: bool(news_messages(bot_api, ADA) and news_messages(bot_api, BEN)))

    [for_ada] = news_messages(bot_api, ADA)
    assert for_ada.startswith(
        '📰 <a href="https://news.test/deal">UK &amp; US near <b>trade</b> deal as '
        '"<b>tariff</b>" talks run late</a>\n'
    )
    assert "⏳ About: <b>UK–US trade deal deadline</b>, in 33 days" in for_ada
    assert "secret" not in for_ada and "ben-private-deal" not in str(api.sent(ADA)[-1].params)
    [ada_call] = [c for c in api.sent(ADA) if "📰" in str(c.params["text"])]
    assert ("⏳ UK–US trade deal deadline", "dd:uk-us-deal") in api.buttons(ada_call)

    # Ben follows both; his own deadline is the sooner one he follows.
    [for_ben] = news_messages(bot_api, BEN)
    assert "⏳ About: <b>Ben's secret deal</b>, in 5 days" in for_ben

    # The button opens the deadline, as /deadline does.
    before = len(api.sent(ADA))
    await api.press(ADA, "dd:uk-us-deal")
    await api.wait_for(lambda: len(api.sent(ADA)) > before)
    details = str(api.sent(ADA)[before].params["text"])
    assert "UK–US trade deal deadline" in details
    # Ada pressing a button made for Ben's private deadline learns nothing of it.
    before = len(api.sent(ADA))
    await api.press(ADA, "dd:ben-private-deal")
    await api.wait_for(lambda: len(api.sent(ADA)) > before)
    assert "No deadline with id" in str(api.sent(ADA)[before].params["text"])

    with session_scope(herald.runtime.engine) as session:
        stored = {
            a.chat_id: a.payload for a in session.exec(select(Alert).where(Alert.kind == "news"))
        }
    assert stored[ADA]["deadline"]["slug"] == "uk-us-deal"
    assert stored[BEN]["deadline"]["slug"] == "ben-private-deal"
    assert stored[ADA]["why"]["terms"] == ["trade", "tariffs"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT.*", stored[ADA]["deadline"]["due_at"])
