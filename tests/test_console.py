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
    assert "UK–US trade deal deadline — Wed 9 Jul 2025 (passed," in out
    assert "US–China tariff truce expiry (Geneva, 90 days)" in out
    assert "herald> I don't know /nonsense. Send /help to see what I understand." in out


def test_no_token_starts_console_and_says_so(tmp_path: Path, database_url: str) -> None:
    result = run_console(tmp_path, "/help\n")
    assert result.returncode == 0, result.stderr
    assert "TELEGRAM_BOT_TOKEN is not set: starting a console chat instead" in result.stderr
    assert "herald> Herald commands" in result.stdout
