"""Console mode: piped commands are handled in order, replies printed, exit 0 at end of input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_console(
    tmp_path: Path, stdin: str, *args: str, token: str = "", **extra_env: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": token, "HERALD_CONFIG": str(ROOT / "config.yaml")}
    env.update(extra_env)
    env.pop("TELEGRAM_API_URL", None)
    if not env.get("DATABASE_URL", "").startswith("postgres"):
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'console.db'}"
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_piped_console_shows_shipped_deadlines(tmp_path: Path, database_url: str) -> None:
    result = run_console(tmp_path, "/start\n/deadlines\n/nonsense\n[Later ▶]\n", "--console")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert out.index("herald> Welcome!") < out.index("herald> Upcoming deadlines")
    assert "US weekly jobless claims — " in out  # recurring: always one ahead
    assert "UK–US trade deal deadline — Wed 9 Jul 2025 (passed," in out  # history is kept
    assert "herald> I don't know /nonsense. Send /help to see what I understand." in out


def test_no_token_in_a_terminal_starts_console_and_says_so(
    tmp_path: Path, database_url: str
) -> None:
    """A terminal on stdin (a pseudo-terminal here): the console chat, with a word why."""
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "", "HERALD_CONFIG": str(ROOT / "config.yaml")}
    env.pop("TELEGRAM_API_URL", None)
    if not env.get("DATABASE_URL", "").startswith("postgres"):
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'console.db'}"
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        os.write(leader, b"/help\n\x04")  # Ctrl-D ends the input of a terminal
        out, err = process.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    assert process.returncode == 0, err
    assert "TELEGRAM_BOT_TOKEN is not set: starting a console chat instead" in err
    assert "herald> Herald commands" in out


def test_no_token_and_no_terminal_exits_2(tmp_path: Path, database_url: str) -> None:
    result = run_console(tmp_path, "/help\n")
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr
    assert "--console" in result.stderr
    assert "herald>" not in result.stdout


def test_console_says_who_it_plays_and_imports_an_opml_file(
    tmp_path: Path, database_url: str
) -> None:
    config = tmp_path / "herald.yaml"
    config.write_text("timezone: Europe/London\nadmins: [1]\n")
    opml = tmp_path / "feeds.xml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="Public" type="rss" xmlUrl="http://93.184.216.34/feed.xml"/>'
        '<outline text="Local" type="rss" xmlUrl="http://10.0.0.7/feed.xml"/>'
        "</body></opml>"
    )
    env_config = {"HERALD_CONFIG": str(config)}
    result = run_console(
        tmp_path,
        f"/start\n/import {opml}\n/import {tmp_path / 'missing.opml'}\n",
        "--console",
        **env_config,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("console: you are user 1 in private chat 1, a Herald admin")
    assert "herald> 📥 Added 1 source; 0 were already there." in out
    assert "http://10.0.0.7/feed.xml is refused" in out
    assert "no file: reply to the OPML file itself" in out

    plain = run_console(tmp_path, "/status\n", "--console")
    assert plain.stdout.startswith("console: you are user 1 in private chat 1, not a Herald admin")


def test_a_chart_and_a_calendar_file_are_saved_and_their_paths_printed(
    tmp_path: Path, database_url: str
) -> None:
    """/timeline and /export send files: the console saves them and says where, with the caption."""
    result = run_console(
        tmp_path, "/start\n/timeline\n/export\n", "--console", TMPDIR=str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    saved = re.findall(r"^herald> 📎 (\S+) \(([\d,]+) bytes\)$", result.stdout, re.MULTILINE)
    assert [Path(path).name for path, _ in saved] == ["timeline.png", "herald-deadlines.ics"]
    chart, calendar = (Path(path) for path, _ in saved)
    assert chart.parent.parent == tmp_path  # a folder of its own in the temporary folder
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert calendar.read_text().startswith("BEGIN:VCALENDAR")
    assert [int(size.replace(",", "")) for _, size in saved] == [
        chart.stat().st_size,
        calendar.stat().st_size,
    ]
    assert "upcoming deadlines, times in Europe/London. /deadlines lists them." in result.stdout
    assert "deadlines with their reminders. Open the file" in result.stdout
