"""The one config loader: reads config.yaml, fills ${VAR}s, validates, explains errors."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.domain.offsets import OffsetError, parse_offset
from bot.domain.query import QuerySyntaxError, parse_query
from bot.domain.recurrence import RecurrenceError, validate_rule

DEFAULT_CONFIG_PATH = "config.yaml"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
ENV_REF_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A config file that cannot be used; `problems` holds one line per mistake."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


def parse_duration_s(text: str | int) -> int:
    """Read `10m`, `1h30m`, `1d`, `45s` (or a bare number of seconds) as seconds."""
    if isinstance(text, int):
        return text
    match = DURATION_RE.match(str(text).strip())
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration; write e.g. 10m, 1h, 1d or 45s")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone; write an IANA name such as Europe/London"
        ) from None
    return name


def _check_slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid id; "
            "use lowercase letters, digits and dashes, e.g. uk-us-deal"
        )
    return value


def _check_duration(value: Any) -> int:
    return parse_duration_s(value)


Slug = Annotated[str, BeforeValidator(_check_slug)]
Zone = Annotated[str, BeforeValidator(_check_zone)]
DurationS = Annotated[int, BeforeValidator(_check_duration)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeadlineConfig(Strict):
    id: Slug
    title: str = Field(min_length=1)
    due: date | datetime
    timezone: Zone | None = None
    remind: list[str] = Field(default_factory=lambda: ["7d", "1d", "1h", "0"])
    keywords: list[str] = Field(default_factory=list)
    url: str | None = None
    description: str | None = None
    repeat: str | None = None  # RRULE ("FREQ=MONTHLY;BYDAY=1FR") or cron ("30 8 * * 5#1")

    @field_validator("due", mode="before")
    @classmethod
    def _read_due(cls, value: Any) -> date | datetime:
        if isinstance(value, datetime | date):
            return value
        text = str(value).strip()
        try:
            if "T" in text or " " in text:
                return datetime.fromisoformat(text)
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a date; write 2025-07-09 or 2025-07-09T17:00"
            ) from None

    @field_validator("remind", mode="before")
    @classmethod
    def _read_remind(cls, value: Any) -> list[str]:
        if not isinstance(value, list):
            raise ValueError("remind must be a list of offsets, e.g. [7d, 1d, 1h, 0]")
        offsets = []
        for item in value:
            try:
                offsets.append(parse_offset(str(item)).text)
            except OffsetError as exc:
                raise ValueError(str(exc)) from None
        return offsets

    @model_validator(mode="after")
    def _check_repeat(self) -> DeadlineConfig:
        if self.repeat is not None:
            if not isinstance(self.due, datetime):
                raise ValueError(
                    "a repeating deadline needs a time in `due`, e.g. 2025-01-03T08:30"
                )
            try:
                validate_rule(self.repeat, zone=self.timezone or "UTC")
            except RecurrenceError as exc:
                raise ValueError(f"repeat: {exc}") from None
        return self

    def due_local(self, default_zone: str) -> tuple[datetime, bool]:
        """The due moment in its own zone, and whether it was given as a bare date."""
        zone = ZoneInfo(self.timezone or default_zone)
        if isinstance(self.due, datetime):
            due = self.due
            if due.tzinfo is None:
                due = due.replace(tzinfo=zone)
            return due.astimezone(zone), False
        return datetime.combine(self.due, time(0, 0), tzinfo=zone), True


class TopicConfig(Strict):
    id: Slug
    title: str = Field(min_length=1)
    query: str = Field(min_length=1)

    @field_validator("query")
    @classmethod
    def _compiles(cls, value: str) -> str:
        """A query that cannot be parsed is refused here (check-config and start), not later."""
        try:
            parse_query(value)
        except QuerySyntaxError as exc:
            raise ValueError(exc.message) from None
        return value


class SourceConfig(Strict):
    url: str | None = None
    google_news: str | None = None
    gdelt: str | None = None
    page: str | None = None
    select: str | None = None
    name: str | None = None
    language: str = "en-GB"
    region: str = "GB"
    every: DurationS = 900

    @model_validator(mode="after")
    def _one_kind(self) -> SourceConfig:
        kinds = [k for k in ("url", "google_news", "gdelt", "page") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one of url, google_news, gdelt or page"
                + (f" (found {', '.join(kinds)})" if kinds else "")
            )
        if self.page and not self.select:
            raise ValueError("a page source needs `select:` (a CSS selector for its items)")
        if self.select and not self.page:
            raise ValueError("`select:` only applies to `page:` sources")
        for key in ("url", "page"):
            link = getattr(self, key)
            if link and not re.match(r"^https?://[^\s/]+", link):
                raise ValueError(f"{key}: {link!r} is not an http(s) URL")
        if self.every < 60:
            raise ValueError("every: poll at most once a minute (write 1m or more)")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("url", "google_news", "gdelt", "page") if getattr(self, k))


class CalendarConfig(Strict):
    url: str
    every: DurationS = 86400
    name: str | None = None
    remind: list[str] = Field(default_factory=lambda: ["1d", "0"])
    follow: bool = False  # whether chats that follow the config's items follow its events too
    timezone: Zone | None = None  # for events given in floating local time

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class DeliveryConfig(Strict):
    global_per_second: float = Field(default=30.0, gt=0, le=1000)
    private_interval_s: float = Field(default=1.0, ge=0)
    group_per_minute: int = Field(default=20, gt=0)
    max_attempts: int = Field(default=10, ge=1, le=50)
    group_window_s: int = Field(default=60, ge=0, le=3600)
    # How long a claimed alert stays with its sender before another may send it again: the
    # delay before the one message in flight at a crash is resent (longer than any one send).
    lease_s: float = Field(default=60.0, ge=1, le=3600)


class LimitsConfig(Strict):
    """How much one chat may create: its own deadlines (active), topics and sources."""

    deadlines_per_chat: int = Field(default=200, ge=0, le=100_000)
    topics_per_chat: int = Field(default=50, ge=0, le=10_000)
    sources_per_chat: int = Field(default=50, ge=0, le=10_000)


class Config(Strict):
    timezone: Zone = "Europe/London"
    admins: list[int] = Field(default_factory=list)
    subscribe_new_chats: Literal["all", "none"] = "all"
    deadlines: list[DeadlineConfig] = Field(default_factory=list)
    topics: list[TopicConfig] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)
    calendars: list[CalendarConfig] = Field(default_factory=list)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    # Who may talk to Herald: everyone, or only the listed users and chats (and admins).
    access: Literal["open", "allowlist"] = "open"
    allowed_users: list[int] = Field(default_factory=list)
    allowed_chats: list[int] = Field(default_factory=list)
    commands_per_minute: int = Field(default=20, gt=0, le=1000)  # per user, then one notice

    @model_validator(mode="after")
    def _access_lists(self) -> Config:
        listed = self.allowed_users or self.allowed_chats
        if self.access == "open" and listed:
            raise ValueError(
                "allowed_users and allowed_chats only apply with `access: allowlist`;"
                " set it, or remove the lists"
            )
        if self.access == "allowlist" and not (listed or self.admins):
            raise ValueError(
                "access: allowlist needs allowed_users, allowed_chats or admins;"
                " as it is, nobody could use Herald"
            )
        return self

    @model_validator(mode="after")
    def _unique_ids(self) -> Config:
        for name, items in (("deadlines", self.deadlines), ("topics", self.topics)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"{name}: id {item.id!r} is used twice; ids must be unique")
                seen.add(item.id)
        return self


def _expand_env(node: Any, path: str, problems: list[str]) -> Any:
    """Fill `${VAR}` and `${VAR:-default}` inside string values from the environment."""
    if isinstance(node, dict):
        return {
            k: _expand_env(v, f"{path}.{k}" if path else str(k), problems) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_expand_env(v, f"{path}[{i}]", problems) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:

        def fill(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = os.environ.get(name)
            if value is None:
                if default is not None:
                    return default
                problems.append(f"{path}: ${{{name}}} is not set in the environment")
                return ""
            return value

        return ENV_REF_RE.sub(fill, node)
    return node


def _loc_to_path(loc: Iterable[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def _model_for(loc: tuple[int | str, ...]) -> type[BaseModel]:
    model: type[BaseModel] = Config
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            break
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if nested:
            model = nested[0]
    return model


def _describe(error: Any) -> str:
    loc = tuple(error["loc"])
    path = _loc_to_path(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        known = list(_model_for(loc).model_fields)
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        return f"{path}: unknown key; {hint}"
    if kind == "missing":
        return f"{path}: required but missing"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    where = f"{path}: " if path else ""
    return f"{where}{message}"


# libyaml's loader, where PyYAML was built with it: a config of 6,000 sources costs the pure
# Python one 22 MB of transient objects that the allocator keeps (docs/benchmarks.md, scale).
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(text: str) -> Any:
    """safe_load, with libyaml when present; an error is re-read by the pure Python loader,
    whose messages the config errors quote."""
    try:
        return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 a safe loader
    except yaml.YAMLError:
        return yaml.safe_load(text)


def parse_config(text: str, path: str = DEFAULT_CONFIG_PATH) -> Config:
    """Validate config text; raise ConfigError naming the file, field path and fix."""
    try:
        raw = _read_yaml(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [f"{where}not valid YAML ({problem})"]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            path, ["the top level must be a mapping of keys (timezone:, deadlines:, …)"]
        )
    problems: list[str] = []
    raw = _expand_env(raw, "", problems)
    if problems:
        raise ConfigError(path, problems)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path, [_describe(e) for e in exc.errors()]) from None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the config named by the argument, $HERALD_CONFIG, or ./config.yaml."""
    chosen = str(path or os.environ.get("HERALD_CONFIG") or DEFAULT_CONFIG_PATH)
    try:
        text = Path(chosen).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(chosen, ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(chosen, [f"cannot be read ({exc})"]) from None
    return parse_config(text, chosen)
