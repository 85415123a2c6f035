"""Classify the outcome of one send into what the delivery worker does next.

Inputs are plain data the worker copies from the exception it caught (python-telegram-bot's
or httpx's class name, the Bot API error code and description, `retry_after`,
`migrate_to_chat_id`), so this module never imports either library and is tested offline.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 600.0
MAX_ATTEMPTS = 10

# The request never reached Telegram: resending cannot duplicate the message.
_NOT_SENT_ERRORS = frozenset(
    {
        "ConnectError",
        "ConnectTimeout",
        "PoolTimeout",
        "WriteError",
        "WriteTimeout",
        "ProxyError",
        "connect_error",
        "connect_timeout",
    }
)
# The request went out but no answer came back: the message may already be in the chat.
_UNCERTAIN_ERRORS = frozenset(
    {"TimedOut", "ReadTimeout", "ReadError", "RemoteProtocolError", "timeout", "read_timeout"}
)
_NETWORK_ERRORS = frozenset({"NetworkError", "TransportError", "network", "server_error"})
_HTTPX_CAUSE_RE = re.compile(r"httpx\.(\w+)")
_DEACTIVATE_PHRASES = (
    "chat not found",
    "bot was blocked",
    "bot was kicked",
    "user is deactivated",
    "bot can't initiate conversation",
    "bot is not a member",
    "have no rights to send",
    "not enough rights to send",
    "chat_write_forbidden",
)


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What happened to one send attempt; no error and no error status means it was sent.

    From a python-telegram-bot exception `exc`: `error=type(exc).__name__`,
    `description=exc.message`, `retry_after_s` from `exc.retry_after` (seconds; a timedelta's
    `total_seconds()`), `migrate_to_chat_id=exc.new_chat_id`. For `TimedOut`, passing the
    class name of `exc.__cause__` instead (e.g. "ConnectTimeout") tells a request that never
    left from one that may have been delivered.
    """

    error: str | None = None  # exception class name, e.g. "RetryAfter", "BadRequest"
    status: int | None = None  # Bot API error_code / HTTP status, when known
    description: str = ""
    retry_after_s: float | None = None
    migrate_to_chat_id: int | None = None
    attempt: int = 1  # 1 for the first send of this alert; RetryAfter waits do not count


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off with full jitter: wait uniform(0, min(cap, base * 2**(n-1)))."""

    base_s: float = BACKOFF_BASE_S
    cap_s: float = BACKOFF_CAP_S
    max_attempts: int = MAX_ATTEMPTS


@dataclass(frozen=True, slots=True)
class Sent:
    """Delivered: mark the alert sent."""


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """Flood limit: pause the whole worker exactly `seconds`, then resend (not an attempt)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Backoff:
    """Transient failure before delivery: resend after `seconds` (counts as an attempt)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Uncertain:
    """No answer after the request went out; resend after `seconds` (counts as an attempt).

    The message may already be in the chat, so the resend can duplicate it once.
    """

    seconds: float


@dataclass(frozen=True, slots=True)
class Deactivate:
    """The chat is gone or refuses the bot: mark it inactive and cancel its pending alerts."""

    reason: str


@dataclass(frozen=True, slots=True)
class Migrate:
    """The group became a supergroup: move the chat to `new_chat_id` and resend there."""

    new_chat_id: int


@dataclass(frozen=True, slots=True)
class Split:
    """Too long: split the text (`split_message`) and send the parts in order."""


@dataclass(frozen=True, slots=True)
class PlainText:
    """Telegram rejected the HTML: resend as plain text (`html_to_plain`), no parse mode."""


@dataclass(frozen=True, slots=True)
class Fail:
    """Give up on this alert: mark it failed with `reason`."""

    reason: str


@dataclass(frozen=True, slots=True)
class Halt:
    """The bot itself is refused (bad token): stop delivering, leave the alert pending."""

    reason: str


Decision = (
    Sent | RetryAfter | Backoff | Uncertain | Deactivate | Migrate | Split | PlainText | Fail | Halt
)
_DEFAULT_POLICY = RetryPolicy()


def backoff_delay_s(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Full-jitter delay after the `attempt`-th failed attempt."""
    ceiling = min(policy.cap_s, policy.base_s * 2 ** min(max(attempt - 1, 0), 62))
    return rng.uniform(0.0, ceiling)


def _transient(
    outcome: SendOutcome, policy: RetryPolicy, rng: random.Random, uncertain: bool
) -> Decision:
    what = outcome.description or outcome.error or "error"
    if outcome.attempt >= policy.max_attempts:
        return Fail(f"gave up after {outcome.attempt} attempts: {what}")
    delay = backoff_delay_s(outcome.attempt, policy, rng)
    return Uncertain(delay) if uncertain else Backoff(delay)


def _cause(description: str) -> str:
    """The httpx class python-telegram-bot names in a NetworkError ("httpx.ReadError: ...")."""
    match = _HTTPX_CAUSE_RE.match(description)
    return match.group(1) if match else ""


def _bad_request(description: str) -> Decision:
    text = description.lower()
    if "message is too long" in text:
        return Split()
    if "can't parse entities" in text or "can't find end" in text:
        return PlainText()
    if any(phrase in text for phrase in _DEACTIVATE_PHRASES):
        return Deactivate(description)
    return Fail(description or "bad request")


def decide(
    outcome: SendOutcome,
    policy: RetryPolicy | None = None,
    rng: random.Random | None = None,
) -> Decision:
    """What to do after one send attempt."""
    policy = policy or _DEFAULT_POLICY
    rng = rng or random.Random()  # noqa: S311 backoff jitter, not a secret
    error, status, description = outcome.error, outcome.status, outcome.description
    if error is None and (status is None or 200 <= status < 300):
        return Sent()
    if outcome.migrate_to_chat_id is not None:
        return Migrate(outcome.migrate_to_chat_id)
    if outcome.retry_after_s is not None:
        return RetryAfter(max(float(outcome.retry_after_s), 0.0))
    if error in ("InvalidToken", "EndPointNotFound") or status in (401, 404):
        return Halt(description or error or f"HTTP {status}")
    if error == "Forbidden" or status == 403:
        return Deactivate(description or "forbidden")
    if error == "BadRequest" or status == 400:
        return _bad_request(description)
    if error in _NOT_SENT_ERRORS or status == 429 or (status is not None and status >= 500):
        return _transient(outcome, policy, rng, uncertain=False)
    if error in _UNCERTAIN_ERRORS:
        # TimedOut covers every httpx timeout; only a pool timeout surely never left.
        sent = "pool timeout" not in description.lower()
        return _transient(outcome, policy, rng, uncertain=sent)
    if error in _NETWORK_ERRORS or error == "RetryAfter":
        # A NetworkError is either an HTTP error answer from Telegram (not delivered) or
        # "httpx.<Class>: ..." from the transport, whose class says whether it was sent.
        return _transient(outcome, policy, rng, uncertain=_cause(description) in _UNCERTAIN_ERRORS)
    return Fail(description or error or f"HTTP {status}")
