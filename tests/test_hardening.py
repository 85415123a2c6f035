"""Defects hostile and new-user trials found, each driven through the fake Bot API."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.config import LimitsConfig
from bot.delivery_policy.split import telegram_length
from bot.interface.app import HeraldBot
from bot.store.db import session_scope
from bot.store.models import Chat, Countdown, Deadline, DeadlineSubscription, Proposal, Topic
from tests.fakebot import ServedAPI
from tests.helpers import config_text, press_answer, say

ADA = 7001  # group admin
BEN = 7002  # group member
BOSS = 7003  # Herald admin
GROUP = -100555
GROUP_ONLY = "Only this group's admins can change its deadlines and settings."

CONFIG = config_text(admins=[BOSS])


@pytest.fixture
def herald_config() -> str:
    return CONFIG


async def group_say(api: ServedAPI, text: str, user_id: int, *, anonymous: bool = False) -> str:
    return await say(api, GROUP, text, chat_type="supergroup", user_id=user_id, anonymous=anonymous)


async def group_with_admin(herald: HeraldBot, api: ServedAPI) -> None:
    api.api.group_admins.add(ADA)
    await group_say(api, "/start", ADA)


def stored_chat(herald: HeraldBot, chat_id: int) -> Chat:
    with session_scope(herald.runtime.engine) as session:
        chat = session.get(Chat, chat_id)
        assert chat is not None
        return chat


async def test_group_members_cannot_set_the_time_zone(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await group_with_admin(herald, bot_api)
    assert await group_say(bot_api, "/timezone Asia/Tokyo", BEN) == GROUP_ONLY
    assert stored_chat(herald, GROUP).timezone is None
    done = await group_say(bot_api, "/timezone Asia/Tokyo", ADA)
    assert done == "Done: times are now shown in Asia/Tokyo."


async def test_anonymous_group_admins_count_as_admins(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await group_with_admin(herald, bot_api)
    preview = await group_say(bot_api, "/add tomorrow noon Vote", BEN, anonymous=True)
    assert preview.startswith("Vote — ")


async def test_unfollow_button_is_for_group_admins(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await group_with_admin(herald, bot_api)
    await group_say(bot_api, "/follow shipped-deadline", ADA)
    answer = await press_answer(
        bot_api, GROUP, "unf:shipped-deadline", user_id=BEN, chat_type="supergroup"
    )
    assert answer == GROUP_ONLY
    with session_scope(herald.runtime.engine) as session:
        assert session.exec(
            select(DeadlineSubscription).where(DeadlineSubscription.chat_id == GROUP)
        ).all()


async def test_members_cannot_cancel_an_admins_add_preview(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await group_with_admin(herald, bot_api)
    await group_say(bot_api, "/add tomorrow noon Vote", ADA)
    [cancel] = [
        d for label, d in bot_api.api.buttons(bot_api.api.sent(GROUP)[-1]) if label == "Cancel"
    ]
    assert (
        await press_answer(bot_api, GROUP, cancel, user_id=BEN, chat_type="supergroup")
        == GROUP_ONLY
    )
    with session_scope(herald.runtime.engine) as session:
        [proposal] = session.exec(select(Proposal)).all()
        assert proposal.status == "pending"


async def test_members_cannot_start_countdowns(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await group_with_admin(herald, bot_api)
    assert await group_say(bot_api, "/countdown shipped-deadline", BEN) == GROUP_ONLY
    with session_scope(herald.runtime.engine) as session:
        assert session.exec(select(Countdown)).all() == []


async def test_a_news_move_never_moves_a_config_deadline_from_a_chat(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    with session_scope(herald.runtime.engine) as session:
        shipped = session.exec(select(Deadline).where(Deadline.slug == "shipped-deadline")).one()
        due = shipped.due_at
        proposal = Proposal(
            chat_id=ADA,
            kind="news_move",
            dedup_key="news:move:shipped-deadline:2099-02-01",
            payload={"date": "2099-02-01", "deadline_slug": "shipped-deadline"},
        )
        session.add(proposal)
        session.flush()
        proposal_id = proposal.id
    answer = await press_answer(bot_api, ADA, f"pa:{proposal_id}:ok")
    assert "comes from config.yaml, so it changes only there" in answer
    with session_scope(herald.runtime.engine) as session:
        assert (
            session.exec(select(Deadline).where(Deadline.slug == "shipped-deadline")).one().due_at
            == due
        )
        assert session.get(Proposal, proposal_id).status == "pending"  # type: ignore[union-attr]


async def test_forged_buttons_are_answered_and_change_nothing(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    for data in (
        "pa:3000000000:ok",  # beyond INTEGER: PostgreSQL refused even the lookup
        "pa:99999999999999999999:ok",
        "sz:99999999999999999999",
        "dl:99999999999999999999",
        "zz",
        "pa:1:ok\x00",
    ):
        assert await press_answer(bot_api, ADA, data) == "That button no longer works."
    snoozed = await press_answer(bot_api, ADA, "sz:3000000000")
    assert snoozed == "That reminder can no longer be snoozed."


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/add in ² days Budget", "I couldn't read that"),
        ("/add in 99999 hours Budget", "more than 10 years ahead"),
        ("/timezone Europe/" + "x" * 300, "is not a time zone"),
        ("/add 1 May 2099 Europe/" + "y" * 300 + " Budget", "I couldn't read that"),
        ("/deadline a\x00b", "NUL character"),
    ],
)
async def test_hostile_input_gets_a_clear_answer(
    herald: HeraldBot, bot_api: ServedAPI, command: str, expected: str
) -> None:
    await say(bot_api, ADA, "/start")
    assert expected in await say(bot_api, ADA, command)
    with session_scope(herald.runtime.engine) as session:
        assert session.exec(select(Proposal)).all() == []


async def test_replies_that_echo_long_input_are_split(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    before = len(bot_api.api.sent(ADA))
    await say(bot_api, ADA, "/deadline " + "é" * 4080)
    await bot_api.api.push_text(ADA, "/deadlines")  # answered after every part of the above
    await bot_api.api.wait_for(
        lambda: "Shipped deadline" in str(bot_api.api.sent(ADA)[-1].params["text"])
    )
    parts = [str(p.params["text"]) for p in bot_api.api.sent(ADA)[before:-1]]
    assert len(parts) >= 2
    assert all(telegram_length(part) <= 4096 for part in parts)
    assert "No deadline with id" in parts[0]


async def confirm_add(api: ServedAPI, chat_id: int, text: str) -> str:
    await say(api, chat_id, text)
    [confirm] = [d for label, d in api.api.buttons(api.api.sent(chat_id)[-1]) if label == "Confirm"]
    edits = len([c for c in api.api.calls if c.method == "editMessageText"])
    await api.api.press(chat_id, confirm)
    await api.api.wait_for(
        lambda: len([c for c in api.api.calls if c.method == "editMessageText"]) > edits
    )
    return str([c for c in api.api.calls if c.method == "editMessageText"][edits].params["text"])


async def test_ids_are_per_chat_and_reveal_nothing_of_other_chats(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    await say(bot_api, BEN, "/start")
    assert "id <code>secret-a-plan</code>" in await confirm_add(
        bot_api, ADA, "/add tomorrow noon Secret A plan"
    )
    assert "id <code>secret-a-plan</code>" in await confirm_add(
        bot_api, BEN, "/add tomorrow 13:00 Secret A plan"
    )
    # A chat's own id never shadows a global (config) one.
    assert "id <code>shipped-deadline-2</code>" in await confirm_add(
        bot_api, ADA, "/add tomorrow noon Shipped deadline"
    )
    # Each chat's id resolves to its own deadline.
    assert "13:00" in await say(bot_api, BEN, "/deadline secret-a-plan")
    assert "12:00" in await say(bot_api, ADA, "/deadline secret-a-plan")
    assert "<code>bananas</code>" in await say(bot_api, ADA, "/watch bananas")
    assert "<code>bananas</code>" in await say(bot_api, BEN, "/watch bananas")
    await say(bot_api, BEN, "/unwatch bananas")  # deletes Ben's topic, not Ada's
    assert "bananas" in await say(bot_api, ADA, "/topics")
    with session_scope(herald.runtime.engine) as session:
        owners = session.exec(
            select(Deadline.owner_chat_id).where(Deadline.slug == "secret-a-plan")
        )
        assert sorted(owner or 0 for owner in owners.all()) == [ADA, BEN]


async def test_per_chat_limits_on_deadlines_and_topics(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    limits = LimitsConfig(deadlines_per_chat=1, topics_per_chat=1)
    herald.runtime.config = herald.runtime.config.model_copy(update={"limits": limits})
    await say(bot_api, ADA, "/start")
    await confirm_add(bot_api, ADA, "/add tomorrow noon First")
    refused = await say(bot_api, ADA, "/add tomorrow noon Second")
    assert refused.startswith("This chat already has 1 deadline of its own")
    # Another chat has its own allowance.
    await say(bot_api, BEN, "/start")
    assert "id <code>first</code>" in await confirm_add(bot_api, BEN, "/add tomorrow noon First")
    assert "<code>bananas</code>" in await say(bot_api, ADA, "/watch bananas")
    refused = await say(bot_api, ADA, "/watch apples")
    assert refused.startswith("This chat already has 1 topic of its own")
    with session_scope(herald.runtime.engine) as session:
        owned = session.exec(select(Deadline).where(Deadline.owner_chat_id == ADA)).all()
        assert [d.slug for d in owned] == ["first"]
        topics = session.exec(select(Topic.query).where(Topic.owner_chat_id == ADA)).all()
        assert topics == ["bananas"]


def test_only_http_links_reach_messages_and_buttons() -> None:
    from bot import render
    from bot.delivery import to_markup
    from bot.render.common import title_link

    assert title_link("x", "javascript:alert(1)") == "x"
    assert title_link("x", "https://a.test/") == '<a href="https://a.test/">x</a>'
    markup = to_markup(
        ((render.Button("Open", url="data:text/html,x"), render.Button("Go", data="dl:1")),)
    )
    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [["Go"]]
