"""Console mode: piped commands are handled in order, replies printed, exit 0 at end of input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_console(
    tmp_path: Path, stdin: str, *args: str, token: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": token, "HERALD_CONFIG": str(ROOT / "config.yaml")}
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
