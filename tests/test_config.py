"""Config loading: the shipped file is valid, and each broken config gets its exact error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, parse_config, parse_duration_s

ROOT = Path(__file__).resolve().parent.parent

GOOD_DEADLINE = "  - id: d1\n    title: T\n    due: 2025-07-09\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "deadlines:\n  - id: d1\n    title: T\n    due: July 9th\n",
            "deadlines[0].due: 'July 9th' is not a date; write 2025-07-09 or 2025-07-09T17:00",
        ),
        (
            "deadlines:\n" + GOOD_DEADLINE + "    remnd: [1d]\n",
            "deadlines[0].remnd: unknown key; did you mean 'remind'?",
        ),
        ("timezon: Europe/London\n", "timezon: unknown key; did you mean 'timezone'?"),
        (
            "timezone: Mars/Olympus\n",
            "timezone: 'Mars/Olympus' is not a time zone; write an IANA name such as Europe/London",
        ),
        (
            "deadlines:\n" + GOOD_DEADLINE + "    remind: [7x]\n",
            "deadlines[0].remind: '7x' is not an offset; write e.g. 7d, 1d, 2h, 30m or 0",
        ),
        (
            "deadlines:\n  - id: d1\n    due: 2025-07-09\n",
            "deadlines[0].title: required but missing",
        ),
        (
            "deadlines:\n  - id: Bad Id\n    title: T\n    due: 2025-07-09\n",
            "deadlines[0].id: 'Bad Id' is not a valid id; use lowercase letters, digits and dashes, "
            "e.g. uk-us-deal",
        ),
        (
            "deadlines:\n" + GOOD_DEADLINE + GOOD_DEADLINE,
            "deadlines: id 'd1' is used twice; ids must be unique",
        ),
        (
            "sources:\n  - url: https://example.org/feed\n    google_news: x\n",
            "sources[0]: give exactly one of url, google_news, gdelt or page (found url, google_news)",
        ),
        (
            "sources:\n  - url: ftp://example.org/feed\n",
            "sources[0]: url: 'ftp://example.org/feed' is not an http(s) URL",
        ),
        (
            "sources:\n  - page: https://example.org/\n",
            "sources[0]: a page source needs `select:` (a CSS selector for its items)",
        ),
        (
            "sources:\n  - url: https://example.org/feed\n    every: soon\n",
            "sources[0].every: 'soon' is not a duration; write e.g. 10m, 1h, 1d or 45s",
        ),
        (
            "admins: [alice]\n",
            "admins[0]: Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            "deadlines: [\n",
            "line 2, column 1: not valid YAML (expected the node content, but found '<stream end>')",
        ),
        (
            "- just\n- a list\n",
            "the top level must be a mapping of keys (timezone:, deadlines:, …)",
        ),
        (
            "topics:\n  - id: oecd\n    title: OECD\n    query: 'OECD (outlook OR forecast'\n",
            "topics[0].query: unclosed '(' at position 5: add a closing ')'",
        ),
        (
            "limits:\n  deadline_per_chat: 5\n",
            "limits.deadline_per_chat: unknown key; did you mean 'deadlines_per_chat'?",
        ),
        (
            "timezone: ${HERALD_TEST_UNSET_ZONE}\n",
            "timezone: ${HERALD_TEST_UNSET_ZONE} is not set in the environment",
        ),
    ],
)
def test_broken_config_gets_exact_error(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "config.yaml")
    assert caught.value.problems == [expected]
    assert str(caught.value) == f"config.yaml: {expected}"


def test_env_references_are_filled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_TEST_ZONE", "America/New_York")
    config = parse_config("timezone: ${HERALD_TEST_ZONE}\nadmins: [1]\n")
    assert config.timezone == "America/New_York"
    assert parse_config("timezone: ${HERALD_TEST_MISSING:-Asia/Tokyo}\n").timezone == "Asia/Tokyo"


def test_due_dates_become_local_moments_in_their_zone_with_the_default_offsets() -> None:
    config = parse_config(
        "timezone: Europe/London\ndeadlines:\n"
        "  - {id: a, title: A, due: 2025-07-09}\n"
        "  - {id: b, title: B, due: '2025-07-09T17:00', timezone: America/New_York}\n"
    )
    a, b = config.deadlines
    local_a, all_day_a = a.due_local(config.timezone)
    local_b, all_day_b = b.due_local(config.timezone)
    assert (local_a.isoformat(), all_day_a) == ("2025-07-09T00:00:00+01:00", True)
    assert (local_b.isoformat(), all_day_b) == ("2025-07-09T17:00:00-04:00", False)
    assert a.remind == ["7d", "1d", "1h", "0"]


def test_durations_in_one_or_more_units_or_bare_seconds_become_seconds() -> None:
    assert [parse_duration_s(t) for t in ("10m", "1h30m", "1d", "45s", 60)] == [
        600,
        5400,
        86400,
        45,
        60,
    ]


def test_shipped_config_is_valid() -> None:
    config = load_config(ROOT / "config.yaml")
    ids = {d.id for d in config.deadlines}
    assert {"uk-us-trade-deal", "us-china-tariff-truce", "us-china-london-talks"} <= ids
    assert {t.id for t in config.topics} >= {
        "rare-earths",
        "us-china-tariffs",
        "chip-export-controls",
        "uk-us-trade-deal",
        "oecd-outlook",
    }
    assert config.sources and config.calendars


def test_a_missing_config_file_is_a_config_error_naming_the_path() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config("/nonexistent/herald.yaml")
    assert str(caught.value) == "/nonexistent/herald.yaml: file not found"


def test_check_config_exits_0_with_a_summary_for_the_shipped_config() -> None:
    good = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", "--config", str(ROOT / "config.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("config OK: 19 deadlines, 5 topics, 7 sources, 1 calendar\n")


def test_check_config_exits_1_with_the_exact_error_and_no_traceback_for_a_broken_one(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("deadlines:\n  - id: d1\n    title: T\n    due: July 9th\n")
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", "--config", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        f"{broken}: deadlines[0].due: 'July 9th' is not a date; write 2025-07-09 or 2025-07-09T17:00"
    )
    assert "Traceback" not in bad.stderr
