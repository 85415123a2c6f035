"""Deadline commands end to end through the fake Bot API: /add, /edit, /cancel, /follow, /remind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select
from telegram.error import BadRequest, Forbidden

from bot.interface.app import HeraldBot
from bot.interface.countdowns import refresh_countdowns
from bot.store.db import session_scope
from bot.store.models import Alert, Countdown, Deadline, DeadlineSubscription, Proposal
from tests.fakebot import ServedAPI
from tests.helpers import config_text, edits, press, say

ADA = 7001
BEN = 7002
GROUP = -100555

CONFIG = config_text()


@pytest.fixture
def herald_config() -> str:
    return CONFIG


def deadlines(herald: HeraldBot) -> list[Deadline]:
    with session_scope(herald.runtime.engine) as session:
        return list(session.exec(select(Deadline).where(Deadline.origin != "config")).all())


async def test_add_is_stored_only_after_confirm(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, ADA, "/start")
    year = datetime.now(UTC).year + 1
    preview = await say(bot_api, ADA, f"/add 9 July {year} 17:00 UK–US trade deal")
    assert preview.startswith("UK–US trade deal — ")
    assert f"9 Jul {year}, 17:00 BST (in " in preview
    assert deadlines(herald) == []
    labels = bot_api.api.buttons(bot_api.api.sent(ADA)[-1])
    assert [label for label, _ in labels] == ["Confirm", "Cancel"]
    confirm = dict(labels)["Confirm"]

    edited = await press(bot_api, ADA, confirm)
    assert "✅ Added <b>UK–US trade deal</b>" in edited
    assert "id <code>uk-us-trade-deal</code>" in edited
    [stored] = deadlines(herald)
    assert (stored.owner_chat_id, stored.origin, stored.all_day) == (ADA, "chat", False)
    assert stored.due_at == datetime(year, 7, 9, 16, 0, tzinfo=UTC)
    listing = await say(bot_api, ADA, "/deadlines")
    assert "🔔 <b>UK–US trade deal</b>" in listing

    await bot_api.api.press(ADA, confirm)  # a second press adds nothing and says so
    await bot_api.api.wait_for(
        lambda: any(
            c.method == "answerCallbackQuery"
            and c.params.get("text") == "That was already decided."
            for c in bot_api.api.calls
        )
    )
    assert len(deadlines(herald)) == 1


async def test_add_cancel_and_unreadable_input_store_nothing(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    await say(bot_api, ADA, "/add in 3 days Comment period closes")
    cancel = dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))["Cancel"]
    assert await press(bot_api, ADA, cancel) == "Cancelled: nothing was added."
    answer = await say(bot_api, ADA, "/add 9/7 Trade deal")
    assert answer.startswith("I couldn't read that: '9/7' could be 9 July or 7 September")
    assert "Nothing was added." in answer
    assert (await say(bot_api, ADA, "/add")).startswith("I couldn't read that: write when and what")
    assert deadlines(herald) == []


async def test_edit_moves_renames_and_cancels_with_one_notice_each_and_refuses_bad_input(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    await say(bot_api, BEN, "/start")
    await say(bot_api, ADA, "/add in 10 days Truce expiry")
    await press(bot_api, ADA, dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))["Confirm"])
    [deadline] = deadlines(herald)
    # Ben cannot see Ada's deadline, so he cannot follow it.
    assert "No deadline with id" in await say(bot_api, BEN, f"/follow {deadline.slug}")

    answer = await say(bot_api, ADA, f"/edit {deadline.slug} when in 100 days")
    assert answer.startswith("✅ Moved; followers are told.")
    await bot_api.api.wait_for(
        lambda: any("Deadline moved" in str(c.params["text"]) for c in bot_api.api.sent(ADA))
    )
    moved = [
        str(c.params["text"])
        for c in bot_api.api.sent(ADA)
        if "Deadline moved" in str(c.params["text"])
    ]
    assert len(moved) == 1 and "(+90 days)" in moved[0]

    details = await say(bot_api, ADA, f"/deadline {deadline.slug}")
    assert "<b>History</b>" in details and "moved" in details and "created" in details
    assert "1 chat follows it. You follow it." in details

    for when, error in [
        ("yesterday", "I can't read a date at the start of 'yesterday'; write e.g. "),
        ("in 3 days soonish", "'soonish' is not part of a date or time"),
    ]:
        refused = await say(bot_api, ADA, f"/edit {deadline.slug} when {when}")
        assert error in refused and "\u2063" not in refused

    renamed = await say(bot_api, ADA, f"/edit {deadline.slug} title Extended truce expiry")
    assert renamed.startswith("✅ Renamed to “Extended truce expiry”.")
    await bot_api.api.wait_for(  # the followers' notice comes too; let it pass before going on
        lambda: any("Deadline renamed" in str(c.params["text"]) for c in bot_api.api.sent(ADA))
    )
    bad = await say(bot_api, ADA, f"/edit {deadline.slug} remind 7x")
    assert bad.startswith(
        "'7x' is not an offset; write e.g. 7d, 1d, 2h, 30m or 0.\nNothing was changed."
    )
    cancelled = await say(bot_api, ADA, f"/cancel {deadline.slug}")
    assert cancelled.startswith("✅ Cancelled; followers are told.")
    with session_scope(herald.runtime.engine) as session:
        kinds = sorted(
            a.payload.get("change", "")
            for a in session.exec(select(Alert).where(Alert.kind == "deadline_changed"))
        )
    assert kinds == ["cancelled", "moved", "renamed"]


async def test_config_deadlines_are_not_edited_from_chats(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    answer = await say(bot_api, ADA, "/edit shipped-deadline when tomorrow")
    assert answer == (
        "That deadline comes from config.yaml, so it changes only there: ask Herald's admins."
    )
    assert (await say(bot_api, ADA, "/edit")).startswith(
        "Usage: <code>/edit comment-period-closes when next Friday 09:00</code>"
    )


async def test_following_or_unfollowing_twice_says_the_second_time_that_nothing_changed(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    assert (await say(bot_api, ADA, "/unfollow shipped-deadline")).startswith(
        "🔕 You no longer follow"
    )
    assert (await say(bot_api, ADA, "/unfollow shipped-deadline")).startswith(
        "You weren't following"
    )
    assert (await say(bot_api, ADA, "/follow shipped-deadline")).startswith(
        "🔔 You follow <b>Shipped deadline</b>: reminders "
    )
    assert (await say(bot_api, ADA, "/follow shipped-deadline")) == (
        "You already follow <b>Shipped deadline</b>."
    )


async def test_following_an_unknown_id_is_refused_and_names_the_id(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    assert (await say(bot_api, ADA, "/follow nope")).startswith(
        "No deadline with id <code>nope</code>"
    )


def own_offsets(herald: HeraldBot) -> list[str] | None:
    with session_scope(herald.runtime.engine) as session:
        [sub] = session.exec(
            select(DeadlineSubscription).where(DeadlineSubscription.chat_id == ADA)
        ).all()
        return sub.remind


async def test_remind_stores_own_offsets_keeps_them_on_bad_input_and_default_drops_them(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    answer = await say(bot_api, ADA, "/remind shipped-deadline 2d 3h")
    assert (
        answer
        == "⏰ <b>Shipped deadline</b>: your reminders are 2 days, 3 hours before, and when it falls due."
    )
    assert own_offsets(herald) == ["2d", "3h"]
    assert "your offsets" in await say(bot_api, ADA, "/deadline shipped-deadline")
    bad = await say(bot_api, ADA, "/remind shipped-deadline soon")
    assert bad.startswith("'soon' is not an offset")
    assert own_offsets(herald) == ["2d", "3h"]
    assert (await say(bot_api, ADA, "/remind shipped-deadline default")).startswith(
        "⏰ <b>Shipped deadline</b>: the default reminders are 7 days, 1 day, 1 hour before"
    )
    assert own_offsets(herald) is None
    assert "your offsets" not in await say(bot_api, ADA, "/deadline shipped-deadline")


async def test_only_group_admins_change_deadlines(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, GROUP, "/start", chat_type="supergroup", user_id=ADA)
    refused = await say(
        bot_api, GROUP, "/add tomorrow noon Vote", chat_type="supergroup", user_id=BEN
    )
    assert refused == "Only this group's admins can change its deadlines and settings."
    bot_api.api.group_admins.add(ADA)
    preview = await say(
        bot_api, GROUP, "/add tomorrow noon Vote", chat_type="supergroup", user_id=ADA
    )
    assert preview.startswith("Vote — ")
    # Anyone may read.
    assert "Shipped deadline" in await say(
        bot_api, GROUP, "/deadlines", chat_type="supergroup", user_id=BEN
    )


def countdown_row(herald: HeraldBot) -> Countdown:
    with session_scope(herald.runtime.engine) as session:
        [countdown] = session.exec(select(Countdown)).all()
        return countdown


async def test_countdown_message_is_recorded_and_edited_daily_hourly_then_once_reached(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    # This test runs the countdown job itself, and travels to 2098: a scheduler woken there
    # would first count every missed 5-second tick since today (APScheduler lists them all).
    herald.runtime.scheduler.pause()
    bot = herald.application.bot
    await say(bot_api, ADA, "/start")
    text = await say(bot_api, ADA, "/countdown shipped-deadline")
    assert text.startswith("⏳ <b>Shipped deadline</b>: in ")
    sent = bot_api.api.sent(ADA)[-1]
    await say(bot_api, ADA, "/help")  # updates are handled in order: the countdown is stored
    countdown = countdown_row(herald)
    assert countdown.active and countdown.message_id == sent.result["message_id"]
    first_edit = countdown.next_edit_at
    assert first_edit <= datetime.now(UTC) + timedelta(days=1, seconds=5)
    with session_scope(herald.runtime.engine) as session:
        assert session.exec(select(Proposal)).all() == []

    due = datetime(2099, 1, 1, 9, 0, tzinfo=UTC)  # 09:00 in London is 09:00 UTC in January
    with time_machine.travel(first_edit - timedelta(seconds=1), tick=False) as clock:
        assert await refresh_countdowns(herald.runtime, bot) == 0  # not yet
        assert edits(bot_api) == []

        clock.move_to(first_edit)
        assert await refresh_countdowns(herald.runtime, bot) == 1
        [edit] = edits(bot_api)
        assert (int(edit.params["chat_id"]), int(edit.params["message_id"])) == (
            ADA,
            countdown.message_id,
        )
        assert edit.params["parse_mode"] == "HTML"
        assert edit.params["text"].startswith("⏳ <b>Shipped deadline</b>: in ")
        assert countdown_row(herald).next_edit_at == first_edit + timedelta(days=1)
        assert await refresh_countdowns(herald.runtime, bot) == 0  # once per due edit

        clock.move_to(datetime(2098, 12, 31, 10, 30, tzinfo=UTC))  # the last day: hourly
        assert await refresh_countdowns(herald.runtime, bot) == 1
        assert (
            edits(bot_api)[-1]
            .params["text"]
            .startswith(
                "⏳ <b>Shipped deadline</b>: in 22 h 30 min\nDue Thu 1 Jan 2099, 09:00 GMT\n"
                "<i>Updated Wed 31 Dec 2098, 10:30 GMT</i>"
            )
        )
        assert countdown_row(herald).next_edit_at == datetime(2098, 12, 31, 11, 0, tzinfo=UTC)

        clock.move_to(due + timedelta(minutes=1))
        assert await refresh_countdowns(herald.runtime, bot) == 1
        assert (
            edits(bot_api)[-1]
            .params["text"]
            .startswith("🚨 <b>Shipped deadline</b> has been reached.")
        )
        assert not countdown_row(herald).active
        clock.move_to(due + timedelta(days=3))
        assert await refresh_countdowns(herald.runtime, bot) == 0
    assert len(edits(bot_api)) == 3


class RefusingBot:
    """Answers every edit with the error Telegram gives."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def edit_message_text(self, *args: object, **kwargs: object) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "still_active"),
    [
        (BadRequest("Message is not modified: specified new message content is the same"), True),
        (BadRequest("Message to edit not found"), False),
        (Forbidden("Forbidden: bot was blocked by the user"), False),
    ],
)
async def test_a_countdown_whose_message_is_gone_stops_and_an_unchanged_one_goes_on(
    herald: HeraldBot, bot_api: ServedAPI, error: Exception, still_active: bool
) -> None:
    herald.runtime.scheduler.remove_job("countdowns")
    await say(bot_api, ADA, "/start")
    await say(bot_api, ADA, "/countdown shipped-deadline")
    await say(bot_api, ADA, "/help")
    first_edit = countdown_row(herald).next_edit_at
    with time_machine.travel(first_edit, tick=False):
        assert await refresh_countdowns(herald.runtime, RefusingBot(error)) == 0
    countdown = countdown_row(herald)
    assert countdown.active is still_active
    if still_active:
        assert countdown.next_edit_at == first_edit + timedelta(days=1)
