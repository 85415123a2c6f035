"""Onboarding, deep links and the /settings menu end to end through the fake Bot API."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.interface.app import HeraldBot
from bot.store.db import session_scope
from bot.store.models import Chat, DeadlineSubscription, Topic, TopicSubscription
from tests.fakebot import ServedAPI
from tests.helpers import edited_texts, say

ADA = 7001
BEN = 7002
GROUP = -100555
SHIPPED = "\n".join(
    f"""  - id: shipped-{n}
    title: Shipped deadline {n}
    due: "2099-01-{n:02d}T09:00"
"""
    for n in range(1, 10)
)
CONFIG = f"""
timezone: Europe/London
subscribe_new_chats: none
deadlines:
{SHIPPED}
topics:
  - id: rare-earths
    title: Rare earths
    query: '"rare earth"'
  - id: chips
    title: Chips
    query: semiconductor
"""


@pytest.fixture
def herald_config() -> str:
    return CONFIG


async def press(api: ServedAPI, chat_id: int, data: str, **kwargs: object) -> tuple[str, str]:
    """Press a button; return (the answerCallbackQuery text, the message it was edited to)."""
    answers, edited = len(api.api.answers()), len(edited_texts(api))
    await api.api.press(chat_id, data, **kwargs)  # type: ignore[arg-type]
    await api.api.wait_for(lambda: len(api.api.answers()) > answers)
    answer = str(api.api.answers()[answers].params.get("text") or "")
    if answer.startswith("Only"):
        return answer, ""
    await api.api.wait_for(lambda: len(edited_texts(api)) > edited)
    return answer, edited_texts(api)[edited]


def last_buttons(api: ServedAPI, method: str = "editMessageText") -> dict[str, str]:
    call = [c for c in api.api.calls if c.method == method][-1]
    return dict(api.api.buttons(call))


def follows(herald: HeraldBot, chat_id: int) -> tuple[set[int], set[int]]:
    with session_scope(herald.runtime.engine) as session:
        deadlines = set(
            session.exec(
                select(DeadlineSubscription.deadline_id).where(
                    DeadlineSubscription.chat_id == chat_id
                )
            ).all()
        )
        topics = set(
            session.exec(
                select(TopicSubscription.topic_id).where(TopicSubscription.chat_id == chat_id)
            ).all()
        )
    return deadlines, topics


async def test_start_explains_and_offers_three_buttons(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    welcome = await say(bot_api, ADA, "/start")
    assert "What you can do here" in welcome
    labels = bot_api.api.buttons(bot_api.api.sent(ADA)[-1])
    assert [label for label, _ in labels] == ["See deadlines", "Pick topics", "Settings"]
    _, listing = await press(bot_api, ADA, dict(labels)["See deadlines"])
    assert "Shipped deadline 1" in listing
    _, topics = await press(bot_api, ADA, dict(labels)["Pick topics"])
    assert "Which topics" in topics
    _, menu = await press(bot_api, ADA, dict(labels)["Settings"])
    assert menu.startswith("<b>Settings</b>")


async def test_deep_links_follow_a_deadline_or_a_topic(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    details = await say(bot_api, BEN, "/deadline shipped-3")
    link = "https://t.me/herald_test_bot?start=deadline_shipped-3"
    assert link in details
    welcome = await say(bot_api, ADA, "/start deadline_shipped-3")
    assert "You now follow the deadline <b>Shipped deadline 3</b>" in welcome
    welcome = await say(bot_api, ADA, "/start topic_chips")
    assert "You now follow the topic <b>Chips</b>" in welcome
    deadlines, topics = follows(herald, ADA)
    assert len(deadlines) == 1 and len(topics) == 1
    assert "not here" in await say(bot_api, ADA, "/start topic_no-such-topic")


async def test_a_private_deadline_link_does_not_work_for_others(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    await say(bot_api, ADA, "/add in 20 days noon Secret vote")
    confirm = dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))["Confirm"]
    await press(bot_api, ADA, confirm)
    details = await say(bot_api, ADA, "/deadline secret-vote")
    assert "t.me" not in details  # no share link for a chat's own deadline
    answer = await say(bot_api, BEN, "/start deadline_secret-vote")
    assert "not here" in answer
    assert follows(herald, BEN) == (set(), set())


async def test_settings_menu_edits_one_message(herald: HeraldBot, bot_api: ServedAPI) -> None:
    assert "Send /start first" in await say(bot_api, ADA, "/settings")
    await say(bot_api, ADA, "/start")
    menu = await say(bot_api, ADA, "/settings")
    assert "Time zone: <b>Europe/London</b>" in menu
    buttons = dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))

    _, picker = await press(bot_api, ADA, buttons["Time zone"])
    assert "Pick a city" in picker
    answer, menu = await press(bot_api, ADA, last_buttons(bot_api)["Beijing"])
    assert answer == "Saved." and "Time zone: <b>Asia/Shanghai</b>" in menu
    await press(bot_api, ADA, "st:q")
    answer, menu = await press(bot_api, ADA, last_buttons(bot_api)["22:00-07:00"])
    assert "Quiet hours: <b>22:00-07:00</b>" in menu
    await press(bot_api, ADA, "st:dg")
    _, menu = await press(bot_api, ADA, last_buttons(bot_api)["Daily 08:00"])
    assert "News digest: <b>daily 08:00</b>" in menu
    with session_scope(herald.runtime.engine) as session:
        chat = session.get(Chat, ADA)
        assert chat is not None
        assert (chat.timezone, chat.quiet_start, chat.digest) == (
            "Asia/Shanghai",
            "22:00",
            "daily 08:00",
        )
    # Every message sent or edited carries callback data Telegram accepts (≤ 64 bytes).
    for call in bot_api.api.calls:
        for _, data in bot_api.api.buttons(call):
            assert len(data.encode()) <= 64, data


async def test_paged_toggles_and_a_stale_one(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, ADA, "/start")
    _, page = await press(bot_api, ADA, "st:d:0")
    assert "page 1 of 2" in page
    first = last_buttons(bot_api)["▫️ Shipped deadline 1"]
    answer, page = await press(bot_api, ADA, first)
    assert answer == "Following it now."
    assert "✅ Shipped deadline 1" in last_buttons(bot_api)
    _, page2 = await press(bot_api, ADA, last_buttons(bot_api)["▶"])
    assert "page 2 of 2" in page2 and "▫️ Shipped deadline 9" in last_buttons(bot_api)
    answer, _ = await press(bot_api, ADA, first)
    assert answer == "Not following it any more."
    assert follows(herald, ADA)[0] == set()

    await press(bot_api, ADA, "st:t:0")
    chips = last_buttons(bot_api)["▫️ Chips"]
    with session_scope(herald.runtime.engine) as session:
        session.delete(session.exec(select(Topic).where(Topic.slug == "chips")).one())
    answer, fresh = await press(bot_api, ADA, chips)
    assert answer == "This button no longer works: the list has changed. Send the command again."
    assert "Which topics" in fresh and "▫️ Chips" not in last_buttons(bot_api)


async def test_only_group_admins_change_settings(herald: HeraldBot, bot_api: ServedAPI) -> None:
    bot_api.api.group_admins.add(ADA)
    group = "supergroup"
    refusal = await say(bot_api, GROUP, "/start", user_id=BEN, chat_type=group)
    assert "Only this group's admins" in refusal
    await say(bot_api, GROUP, "/start", user_id=ADA, chat_type=group)
    answer, _ = await press(bot_api, GROUP, "st:q:1", user_id=BEN, chat_type=group)
    assert answer == "Only this group's admins can change its deadlines and settings."
    with session_scope(herald.runtime.engine) as session:
        chat = session.get(Chat, GROUP)
        assert chat is not None and chat.quiet_start is None
    answer, menu = await press(bot_api, GROUP, "st:q:1", user_id=ADA, chat_type=group)
    assert answer == "Saved." and "22:00-07:00" in menu


async def test_timezone_reads_city_names(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, ADA, "/start")
    assert "America/New_York" in await say(bot_api, ADA, "/timezone New York")
    assert "Europe/London" in await say(bot_api, ADA, "/timezone london")
    refused = await say(bot_api, ADA, "/timezone Atlantis")
    assert "is not a time zone or a city I know" in refused


def topic_count(herald: HeraldBot) -> int:
    with session_scope(herald.runtime.engine) as session:
        return len(session.exec(select(Topic)).all())


async def test_an_unknown_topic_id_gets_close_ids_not_a_new_query(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    before = topic_count(herald)
    answer = await say(bot_api, ADA, "/watch nope-topic")
    assert answer.startswith("No topic with id <code>nope-topic</code>.")
    assert '/watch "nope-topic"' in answer
    assert topic_count(herald) == before

    answer = await say(bot_api, ADA, "/watch rare-earth")
    assert "Did you mean" in answer
    suggested = dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))
    assert suggested == {"rare-earths": "wt:rare-earths"}
    await bot_api.api.press(ADA, "wt:rare-earths")
    await bot_api.api.wait_for(
        lambda: "You follow <b>Rare earths</b>" in str(bot_api.api.sent(ADA)[-1].params["text"])
    )
    assert topic_count(herald) == before
    # Quoted, the same words are a query of their own.
    assert "👀 Watching" in await say(bot_api, ADA, '/watch "nope-topic"')
    assert topic_count(herald) == before + 1


async def test_an_unknown_deadline_id_gets_close_ids(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, ADA, "/start")
    answer = await say(bot_api, ADA, "/deadline shiped-3")
    assert "Did you mean" in answer
    suggested = dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))
    assert suggested["shipped-3"] == "dd:shipped-3"
    before = len(bot_api.api.sent(ADA))
    await bot_api.api.press(ADA, "dd:shipped-3")
    await bot_api.api.wait_for(lambda: len(bot_api.api.sent(ADA)) > before)
    assert "<b>Shipped deadline 3</b>" in str(bot_api.api.sent(ADA)[before].params["text"])
    follow = await say(bot_api, ADA, "/follow shipped-33")
    assert dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))["shipped-3"] == "fol:shipped-3"
    assert "Did you mean" in follow
    # Not shaped like an id: the plain answer.
    assert await say(bot_api, ADA, "/deadline nothing") == (
        "No deadline with id <code>nothing</code>. See /deadlines for the ids."
    )


async def test_help_watch_example_makes_the_id_it_names(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    help_text = await say(bot_api, ADA, "/help")
    watch = help_text.split("<code>/watch ")[1].split("</code>")[0].replace("&quot;", '"')
    watched = await say(bot_api, ADA, f"/watch {watch}")
    # Excluded words are not part of the id: '"rare earth" export -opinion' is about
    # rare earth exports, and /unwatch takes that id.
    assert "(id <code>rare-earth-export</code>)" in watched
    assert "You no longer follow" in await say(bot_api, ADA, "/unwatch rare-earth-export")
