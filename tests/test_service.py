"""The HTTP server: /healthz, /readyz, /metrics, /calendar.ics and the Telegram webhook."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import select

from bot import metrics
from bot.interface.app import ALLOWED_UPDATES, HeraldBot
from bot.service import SECRET_HEADER, Listen, ServiceError, Webhook, parse_listen, readiness
from bot.store.db import session_scope
from bot.store.models import Chat
from tests.fakebot import ServedAPI
from tests.helpers import FAR_DEADLINE, config_text, running_herald

ADA = 7101
SECRET = "s3cret-webhook-token_0123456789"
HOOK = Webhook("https://herald.example/telegram/hook", SECRET)

CONFIG = config_text(deadlines=[FAR_DEADLINE])


@pytest.fixture
async def herald(bot_api: ServedAPI, database_url: str) -> AsyncIterator[HeraldBot]:
    async with running_herald(CONFIG, database_url, listen=Listen("127.0.0.1", 0)) as bot:
        yield bot


@pytest.fixture
async def hooked(bot_api: ServedAPI, database_url: str) -> AsyncIterator[HeraldBot]:
    listen = Listen("127.0.0.1", 0)
    async with running_herald(CONFIG, database_url, listen=listen, webhook=HOOK) as bot:
        yield bot


def base(herald: HeraldBot) -> str:
    assert herald.http is not None
    return f"http://127.0.0.1:{herald.http.port}"


async def get(herald: HeraldBot, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base(herald)) as client:
        return await client.get(path)


async def test_healthz_and_readyz_answer_when_all_is_well(herald: HeraldBot) -> None:
    assert (await get(herald, "/healthz")).status_code == 200
    ready = await get(herald, "/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"ready": True, "problems": {}}


async def test_metrics_are_prometheus_text_with_herald_figures(herald: HeraldBot) -> None:
    answer = await get(herald, "/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    text = answer.text
    for name in (
        "herald_sources_polled_total",
        "herald_alerts_sent_total",
        "herald_alerts_failed_total",
        "herald_delivery_delay_seconds_bucket",
        "herald_reminder_lateness_seconds_bucket",
        "herald_telegram_429_total",
        "herald_queue_depth 0.0",
        "herald_leader 1.0",
        "herald_items 0.0",
        "herald_stories 0.0",
        "herald_matches 0.0",
        "herald_store_ok 1.0",
    ):
        assert name in text, name


async def test_sent_alerts_and_queue_depth_show_in_metrics(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    before = metrics.ALERTS_SENT.labels("reminder")._value.get()
    await bot_api.api.push_text(ADA, "/start")
    await bot_api.api.wait_for(lambda: bool(bot_api.api.sent(ADA)))
    from bot.services.outbox import NewAlert, enqueue

    payload = {
        "deadline_id": 1,
        "slug": "far-deadline",
        "title": "Far deadline",
        "due_at": "2099-01-01T09:00:00+00:00",
        "timezone": "Europe/London",
        "all_day": False,
        "offset": "1d",
        "late": False,
    }
    with session_scope(herald.runtime.engine) as session:
        enqueue(session, [NewAlert(ADA, "metric-test", "reminder", payload)])
    herald.runtime.outbox.notify()
    await bot_api.api.wait_for(
        lambda: metrics.ALERTS_SENT.labels("reminder")._value.get() == before + 1
    )
    text = (await get(herald, "/metrics")).text
    assert 'herald_alerts_queued_total{kind="reminder"}' in text
    assert "herald_queue_depth 0.0" in text


async def test_calendar_ics_lists_the_global_deadlines(herald: HeraldBot) -> None:
    answer = await get(herald, "/calendar.ics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    assert answer.text.startswith("BEGIN:VCALENDAR")
    assert "SUMMARY:Far deadline" in answer.text


async def test_readyz_names_a_stopped_scheduler(herald: HeraldBot) -> None:
    herald.runtime.scheduler.shutdown(wait=False)
    answer = await get(herald, "/readyz")
    assert answer.status_code == 503
    assert answer.json()["problems"] == {"scheduler": "the scheduler is not running"}


async def test_readiness_wants_recent_passes_and_polls_only_from_the_leader(
    herald: HeraldBot,
) -> None:
    now = time.monotonic()
    started = now - 3600  # up for an hour
    metrics.HEARTBEATS.delivery = now - 120
    metrics.HEARTBEATS.poll = now - 120
    assert set(readiness(herald, started, None, now)) == {"delivery", "poll"}
    metrics.HEARTBEATS.delivery = now - 1
    metrics.HEARTBEATS.poll = now - 4
    assert readiness(herald, started, None, now) == {}
    # A follower does not poll: old poll passes do not make it unready.
    metrics.HEARTBEATS.poll = now - 120
    herald.runtime._leading = False
    try:
        assert readiness(herald, started, None, now) == {}
    finally:
        herald.runtime._leading = True
    # Just took the lead: the first poll pass has STALE_S to come.
    assert readiness(herald, started, now - 10, now) == {}


def test_a_listen_address_is_read_as_host_and_port_defaulting_to_local_8080_or_off() -> None:
    assert parse_listen(None) == Listen("127.0.0.1", 8080)
    assert parse_listen("0.0.0.0:9000") == Listen("0.0.0.0", 9000)  # noqa: S104 parsing the text only
    assert parse_listen("[::1]:8081") == Listen("::1", 8081)
    assert parse_listen("off") is None


@pytest.mark.parametrize("bad", ["8080", "host:", "host:port", "h:70000"])
def test_a_listen_address_without_a_host_and_a_valid_port_is_refused(bad: str) -> None:
    with pytest.raises(ServiceError):
        parse_listen(bad)


# --- webhook -------------------------------------------------------------------------------


async def post_update(
    herald: HeraldBot, update: dict[str, object], secret: str | None
) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with httpx.AsyncClient(base_url=base(herald)) as client:
        return await client.post(HOOK.path, json=update, headers=headers)


def chats(herald: HeraldBot) -> list[int]:
    with session_scope(herald.runtime.engine) as session:
        return [c.id for c in session.exec(select(Chat)).all()]


async def test_webhook_is_set_and_updates_posted_to_it_are_answered(
    hooked: HeraldBot, bot_api: ServedAPI
) -> None:
    api = bot_api.api
    assert api.webhook is not None
    assert api.webhook["url"] == HOOK.url
    assert api.webhook["secret_token"] == SECRET
    assert api.webhook["allowed_updates"] == ALLOWED_UPDATES
    answer = await post_update(hooked, api.text_update(ADA, "/start"), SECRET)
    assert answer.status_code == 200
    await api.wait_for(lambda: bool(api.sent(ADA)))
    assert "Welcome" in api.sent(ADA)[0].params["text"]
    assert not [c for c in api.calls if c.method == "getUpdates"]


async def test_webhook_without_the_secret_is_refused_and_changes_nothing(
    hooked: HeraldBot, bot_api: ServedAPI
) -> None:
    api = bot_api.api
    for secret in (None, "", "wrong", SECRET + "x"):
        answer = await post_update(hooked, api.text_update(ADA, "/start"), secret)
        assert answer.status_code == 403, secret
    # A good update after them is answered; the refused ones left no trace before it.
    assert chats(hooked) == []
    await post_update(hooked, api.text_update(ADA + 1, "/start"), SECRET)
    await api.wait_for(lambda: bool(api.sent(ADA + 1)))
    await asyncio.sleep(0)
    assert api.sent(ADA) == []
    assert chats(hooked) == [ADA + 1]


async def test_webhook_rejects_what_is_not_an_update(hooked: HeraldBot, bot_api: ServedAPI) -> None:
    async with httpx.AsyncClient(base_url=base(hooked)) as client:
        answer = await client.post(HOOK.path, content=b"not json", headers={SECRET_HEADER: SECRET})
    assert answer.status_code == 400


def test_a_webhook_url_gives_its_path_and_a_made_or_given_secret_and_bad_ones_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.service import webhook_from

    monkeypatch.delenv("HERALD_WEBHOOK_SECRET", raising=False)
    made = webhook_from("https://bot.example/tg")
    assert made.path == "/tg" and len(made.secret) >= 32
    assert webhook_from("http://10.0.0.5:8443/hook").path == "/hook"  # self-hosted Bot API
    monkeypatch.setenv("HERALD_WEBHOOK_SECRET", "fixed_secret-1")
    assert webhook_from("https://bot.example/tg").secret == "fixed_secret-1"
    for bad in ("ftp://x/y", "bot.example/tg", "https://bot.example/healthz"):
        with pytest.raises(ServiceError):
            webhook_from(bad)
    monkeypatch.setenv("HERALD_WEBHOOK_SECRET", "has spaces")
    with pytest.raises(ServiceError):
        webhook_from("https://bot.example/tg")
