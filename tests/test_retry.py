"""Send outcomes classified into delivery decisions."""

from __future__ import annotations

import random

import pytest

from bot.delivery_policy.retry import (
    Backoff,
    Deactivate,
    Decision,
    Fail,
    Halt,
    Migrate,
    PlainText,
    RetryAfter,
    RetryPolicy,
    SendOutcome,
    Sent,
    Split,
    Uncertain,
    backoff_delay_s,
    decide,
)

POLICY = RetryPolicy(base_s=2.0, cap_s=60.0, max_attempts=5)


def _decide(outcome: SendOutcome, seed: int = 7) -> Decision:
    return decide(outcome, POLICY, random.Random(seed))


def _expected_delay(attempt: int, seed: int = 7) -> float:
    return random.Random(seed).uniform(0.0, min(60.0, 2.0 * 2 ** (attempt - 1)))


def test_an_outcome_without_an_error_is_decided_as_sent() -> None:
    assert _decide(SendOutcome()) == Sent()
    assert _decide(SendOutcome(status=200)) == Sent()


def test_flood_wait_is_exact_and_not_an_attempt() -> None:
    outcome = SendOutcome("RetryAfter", 429, "Too Many Requests: retry after 17", 17, attempt=5)
    assert _decide(outcome) == RetryAfter(17.0)


def test_a_group_upgraded_to_a_supergroup_migrates_to_its_new_chat_id() -> None:
    outcome = SendOutcome(
        "ChatMigrated",
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-1001234567890,
    )
    assert _decide(outcome) == Migrate(-1001234567890)


@pytest.mark.parametrize(
    ("error", "status", "description"),
    [
        ("Forbidden", 403, "Forbidden: bot was blocked by the user"),
        ("Forbidden", 403, "Forbidden: bot was kicked from the group chat"),
        ("Forbidden", 403, "Forbidden: user is deactivated"),
        ("Forbidden", 403, "Forbidden: bot can't initiate conversation with a user"),
        ("BadRequest", 400, "Bad Request: chat not found"),
        ("BadRequest", 400, "Chat not found"),  # python-telegram-bot strips the prefix
        ("BadRequest", 400, "Bad Request: not enough rights to send text messages to the chat"),
        (None, 403, "Forbidden: bot is not a member of the channel chat"),
    ],
)
def test_gone_chats_are_deactivated(error: str | None, status: int, description: str) -> None:
    assert _decide(SendOutcome(error, status, description)) == Deactivate(description)


def test_too_long_is_split() -> None:
    assert _decide(SendOutcome("BadRequest", 400, "Bad Request: message is too long")) == Split()


@pytest.mark.parametrize(
    "description",
    [
        'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 5',
        "Can't parse entities: can't find end tag corresponding to start tag \"b\"",
        "Bad Request: can't find end of the entity starting at byte offset 34",
    ],
)
def test_entity_error_falls_back_to_plain_text(description: str) -> None:
    assert _decide(SendOutcome("BadRequest", 400, description)) == PlainText()


def test_ptb_errors_without_a_status_code_are_decided_by_their_description() -> None:
    blocked = "Forbidden: bot was blocked by the user"
    assert _decide(SendOutcome("BadRequest", description="Message is too long")) == Split()
    assert _decide(SendOutcome("Forbidden", description=blocked)) == Deactivate(blocked)


def test_other_bad_requests_fail_at_once() -> None:
    outcome = SendOutcome("BadRequest", 400, "Bad Request: message text is empty")
    assert _decide(outcome) == Fail("Bad Request: message text is empty")
    assert _decide(SendOutcome("BadRequest", 400, "")) == Fail("bad request")


@pytest.mark.parametrize(
    ("error", "status", "description"),
    [
        ("InvalidToken", 401, "Unauthorized"),
        ("EndPointNotFound", 404, "Not Found"),
    ],
)
def test_a_refused_bot_halts_delivery(error: str, status: int, description: str) -> None:
    assert _decide(SendOutcome(error, status, description)) == Halt(description)


@pytest.mark.parametrize(
    ("error", "status", "description"),
    [
        ("ConnectError", None, "[Errno 111] Connection refused"),
        ("ConnectTimeout", None, ""),
        ("TimedOut", None, "Pool timeout: All connections in the connection pool are occupied."),
        ("NetworkError", None, "httpx.ConnectError: All connection attempts failed"),
        ("NetworkError", 502, "Bad Gateway"),
        ("NetworkError", None, "Bad Gateway"),
        ("NetworkError", None, "Internal Server Error (500)"),
        (None, 500, "Internal Server Error"),
        ("TelegramError", 429, "Too Many Requests"),  # a 429 without retry_after
    ],
)
def test_failures_before_delivery_back_off(
    error: str | None, status: int | None, description: str
) -> None:
    outcome = SendOutcome(error, status, description, attempt=3)
    assert _decide(outcome) == Backoff(_expected_delay(3))


@pytest.mark.parametrize(
    ("error", "description"),
    [
        ("TimedOut", "Timed out"),
        ("ReadTimeout", ""),
        ("NetworkError", "httpx.ReadError: "),
        (
            "NetworkError",
            "httpx.RemoteProtocolError: Server disconnected without sending a response.",
        ),
    ],
)
def test_no_answer_after_sending_is_uncertain(error: str, description: str) -> None:
    outcome = SendOutcome(error, None, description, attempt=2)
    assert _decide(outcome) == Uncertain(_expected_delay(2))


def test_transient_failures_give_up_after_max_attempts() -> None:
    assert _decide(SendOutcome("TimedOut", None, "Timed out", attempt=5)) == Fail(
        "gave up after 5 attempts: Timed out"
    )
    assert isinstance(_decide(SendOutcome("TimedOut", None, "Timed out", attempt=4)), Uncertain)


def test_an_unknown_error_fails_at_once_with_its_description() -> None:
    assert _decide(SendOutcome("Conflict", 409, "Conflict: terminated")) == Fail(
        "Conflict: terminated"
    )


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    delays = {n: [backoff_delay_s(n, POLICY, rng) for _ in range(2000)] for n in (1, 3, 10)}
    assert min(delays[1]) >= 0.0 and max(delays[1]) <= 2.0
    assert max(delays[3]) <= 8.0 and max(delays[3]) > 7.9
    assert max(delays[10]) <= 60.0 and max(delays[10]) > 59.0  # capped
    assert sum(delays[3]) / 2000 == pytest.approx(4.0, rel=0.05)  # mean of uniform(0, 8)


def test_backoff_is_deterministic_with_a_seeded_rng() -> None:
    outcome = SendOutcome("ConnectError", attempt=1)
    first = decide(outcome, POLICY, random.Random(99))
    assert first == decide(outcome, POLICY, random.Random(99))
    assert first == Backoff(random.Random(99).uniform(0.0, 2.0))


def test_huge_attempt_numbers_do_not_overflow() -> None:
    policy = RetryPolicy(base_s=1.0, cap_s=30.0, max_attempts=10_000)
    assert backoff_delay_s(5000, policy, random.Random(3)) <= 30.0


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        # The edges of each rule, one row each, so that a changed bound or name shows.
        (SendOutcome(None, 299, ""), Sent()),
        (SendOutcome(None, 300, ""), Fail("HTTP 300")),
        (SendOutcome("RetryAfter", 429, "Too Many Requests", retry_after_s=0.4), RetryAfter(0.4)),
        (SendOutcome("RetryAfter", 429, "Too Many Requests", retry_after_s=-3), RetryAfter(0.0)),
        (SendOutcome("InvalidToken", None, ""), Halt("InvalidToken")),
        (SendOutcome("EndPointNotFound", None, "Not Found"), Halt("Not Found")),
        (SendOutcome(None, 401, ""), Halt("HTTP 401")),
        (SendOutcome(None, 404, ""), Halt("HTTP 404")),
        (SendOutcome("Forbidden", 403, ""), Deactivate("forbidden")),
        (SendOutcome(None, 400, "Bad Request: message is too long"), Split()),
        (SendOutcome("Mystery", None, ""), Fail("Mystery")),
        # RetryAfter without a delay is a transient failure; at the last attempt it fails.
        (
            SendOutcome("RetryAfter", None, "Flood control exceeded", attempt=5),
            Fail("gave up after 5 attempts: Flood control exceeded"),
        ),
        (SendOutcome(None, 502, "", attempt=5), Fail("gave up after 5 attempts: error")),
        (
            SendOutcome("ReadError", None, "", attempt=5),
            Fail("gave up after 5 attempts: ReadError"),
        ),
    ],
)
def test_each_rule_at_its_edge(outcome: SendOutcome, expected: Decision) -> None:
    assert _decide(outcome) == expected


class Ceiling(random.Random):
    """Always draws the top of the range: the back-off ceiling itself."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_backoff_ceiling_doubles_from_base_to_cap_and_never_overflows() -> None:
    ceilings = [backoff_delay_s(attempt, POLICY, Ceiling()) for attempt in range(0, 9)]
    assert ceilings == [2.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert backoff_delay_s(10**6, POLICY, Ceiling()) == 60.0
