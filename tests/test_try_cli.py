"""`herald try`: the bot's own query matching, deadline finding and story clustering on text."""

from __future__ import annotations

import json
import subprocess
import sys


def herald(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_installed_try_command_exits_0_1_or_2_and_never_shows_a_traceback() -> None:
    hit = herald(
        "try", "query", '"rare earth" -stocks', "China curbs rare earths exports", "--json"
    )
    assert hit.returncode == 0, hit.stderr
    assert json.loads(hit.stdout)["match"] is True
    miss = herald("try", "query", '"rare earth" -stocks', "rare earth stocks rally")
    assert (miss.returncode, miss.stdout.splitlines()[0]) == (1, "no match")
    bad = herald("try", "query", '"rare earth', "anything")
    assert bad.returncode == 2
    assert "position" in bad.stdout + bad.stderr and "Traceback" not in bad.stderr


def test_try_deadlines_resolves_against_the_publication_date() -> None:
    text = "The truce expires on August 12. Talks were held in Geneva on May 12."
    result = herald("try", "deadlines", "--published", "2025-07-20", stdin=text)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["date"] for line in result.stdout.splitlines()] == ["2025-08-12"]
    bad_date = herald("try", "deadlines", "--published", "July 20")
    assert bad_date.returncode == 2 and "is not a date; write 2025-07-09" in bad_date.stderr


def test_try_stories_groups_items_of_one_story() -> None:
    lines = [
        {
            "id": "a",
            "title": "US, China officials meet in London to defuse trade war",
            "source": "Reuters",
            "published": "2025-06-09T09:00:00+00:00",
        },
        {
            "id": "b",
            "title": "Trade talks between Washington and Beijing get under way in London",
            "source": "BBC",
            "published": "2025-06-09T10:00:00+00:00",
        },
    ]
    result = herald("try", "stories", stdin="\n".join(json.dumps(x) for x in lines) + "\n")
    assert result.returncode == 0, result.stderr
    stories = [json.loads(line) for line in result.stdout.splitlines()]
    assert [s["id"] for s in stories] == ["a", "b"]
    assert stories[0]["story"] == stories[1]["story"]
    broken = herald("try", "stories", stdin="not json\n")
    assert broken.returncode == 2 and "line 1" in broken.stderr and "Traceback" not in broken.stderr
