"""`herald sources check|import|export` and `herald try query`, run as the operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import main
from bot.store.db import make_engine, session_scope
from bot.store.models import Alert, Item, Source
from tests.feed_server import FeedServer, Route, rss

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def herald(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=database_url, HERALD_LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_main(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str, *args: str
) -> tuple[int, str]:
    """The same entry point in this process (quicker than a subprocess)."""
    monkeypatch.setenv("DATABASE_URL", url)
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as running:
        running.set("/good.xml", Route(body=rss([("g1", "One", T0), ("g2", "Two", T0)])))
        running.set("/bad.xml", Route(body=b"<html><body>Not a feed</body></html>"))
        running.set("/down.xml", Route(status=503, body=b"busy"))
        yield running


def write_config(tmp_path: Path, feeds: FeedServer, *paths: str) -> Path:
    sources = "".join(f"  - url: {feeds.url(p)}\n" for p in paths)
    config = tmp_path / "config.yaml"
    config.write_text(f"sources:\n{sources}", encoding="utf-8")
    return config


def test_check_all_fine_exits_0_and_writes_nothing(
    tmp_path: Path, feeds: FeedServer, database_url: str
) -> None:
    config = write_config(tmp_path, feeds, "/good.xml")
    done = herald("sources", "check", "--config", str(config), database_url=database_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"ok    {feeds.url('/good.xml')}  parsed 2, new 2\n1 ok, 0 failed\n"
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        assert session.exec(select(Item)).all() == []
        assert session.exec(select(Alert)).all() == []
        assert session.exec(select(Source)).all() == []
    engine.dispose()


def test_check_reports_each_broken_source_as_a_line(
    tmp_path: Path,
    feeds: FeedServer,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_config(tmp_path, feeds, "/good.xml", "/bad.xml", "/down.xml")
    done = herald("sources", "check", "--config", str(config), database_url=database_url)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stdout.splitlines() == [
        f"ok    {feeds.url('/good.xml')}  parsed 2, new 2",
        f"FAIL  {feeds.url('/bad.xml')}  not a readable feed: "
        "Content appears to be HTML, not a valid RSS/Atom feed",
        f"FAIL  {feeds.url('/down.xml')}  HTTP 503 Service Unavailable",
        "1 ok, 2 failed",
    ]
    args = ("sources", "check", "--config", str(config), "--json")
    code, as_json = run_main(capsys, monkeypatch, database_url, *args)
    assert code == 1
    rows = json.loads(as_json)
    assert [(r["ok"], r["parsed"], r["new"]) for r in rows] == [
        (True, 2, 2),
        (False, 0, 0),
        (False, 0, 0),
    ]
    assert rows[2]["error"] == "HTTP 503 Service Unavailable"


def test_bad_config_is_reported_not_raised(tmp_path: Path, database_url: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("sources:\n  - url: ftp://example.org/feed\n", encoding="utf-8")
    done = herald("sources", "check", "--config", str(config), database_url=database_url)
    assert done.returncode == 1
    assert (
        done.stderr
        == f"{config}: sources[0]: url: 'ftp://example.org/feed' is not an http(s) URL\n"
    )
    assert "Traceback" not in done.stderr


def test_import_then_export_round_trips(
    tmp_path: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opml = tmp_path / "in.opml"
    opml.write_bytes(
        b'<opml version="2.0"><head/><body><outline text="News">'
        b'<outline text="Wire" type="rss" xmlUrl="https://wire.test/rss"/>'
        b'<outline text="Wire again" type="rss" xmlUrl="https://wire.test/rss"/>'
        b'<outline text="Bad" type="rss" xmlUrl="gopher://x"/></outline></body></opml>'
    )

    def herald_here(*args: str) -> tuple[int, str]:
        return run_main(capsys, monkeypatch, database_url, *args)

    assert herald_here("sources", "import", str(opml)) == (
        0,
        "added 1 source, 0 already there, 1 skipped\n"
        "skipped: Bad: not an http(s) URL: 'gopher://x'\n",
    )
    code, again = herald_here("sources", "import", str(opml))
    assert again.startswith("added 0 sources, 1 already there")
    out = tmp_path / "out.opml"
    assert herald_here("sources", "export", str(out)) == (0, f"exported 1 source to {out}\n")
    assert b'<outline text="Wire" title="Wire" type="rss" xmlUrl="https://wire.test/rss" />' in (
        out.read_bytes()
    )
    code, missing = herald_here("sources", "import", str(tmp_path / "nope.opml"))
    assert code == 1 and missing.startswith("cannot import ")


@pytest.mark.parametrize(
    ("query", "code", "first_line"),
    [
        ('"rare earth" -stock', 0, "match"),
        ("tariffs", 1, "no match"),
        ("tariffs OR", 2, "invalid query: "),
    ],
)
def test_try_query_exits_0_on_a_match_1_on_none_and_2_on_a_bad_query(
    query: str,
    code: int,
    first_line: str,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ("try", "query", query, "China curbs rare earth exports")
    returned, out = run_main(capsys, monkeypatch, database_url, *args)
    assert returned == code
    assert out.splitlines()[0].startswith(first_line)


def test_check_covers_stored_sources_and_survives_any_bytes(
    tmp_path: Path,
    feeds: FeedServer,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unknown charset name used to end the whole check with a traceback; OPML-imported
    sources were not checked at all."""
    feeds.set(
        "/odd.xml",
        Route(
            body=rss([("o1", "Odd", T0)]),
            headers={"Content-Type": "application/rss+xml; charset=x-no-such-charset"},
        ),
    )
    opml = tmp_path / "in.opml"
    opml.write_bytes(
        b'<opml version="2.0"><head/><body>'
        + f'<outline text="Good" type="rss" xmlUrl="{feeds.url("/good.xml")}"/>'.encode()
        + b"</body></opml>"
    )
    config = write_config(tmp_path, feeds, "/odd.xml")
    assert run_main(capsys, monkeypatch, database_url, "sources", "import", str(opml))[0] == 0
    code, out = run_main(
        capsys, monkeypatch, database_url, "sources", "check", "--config", str(config)
    )
    assert out.splitlines() == [
        f"ok    {feeds.url('/odd.xml')}  parsed 1, new 1",
        f"ok    {feeds.url('/good.xml')}  parsed 2, new 2",
        "2 ok, 0 failed",
    ]
    assert code == 0


def test_sources_export_dash_writes_opml_to_standard_output_not_to_a_file(
    tmp_path: Path,
    feeds: FeedServer,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    opml = tmp_path / "in.opml"
    opml.write_bytes(
        b'<opml version="2.0"><head/><body>'
        b'<outline text="Wire" type="rss" xmlUrl="https://wire.test/rss"/></body></opml>'
    )
    run_main(capsys, monkeypatch, database_url, "sources", "import", str(opml))
    code, out = run_main(capsys, monkeypatch, database_url, "sources", "export", "-")
    assert code == 0
    assert out.startswith("<?xml") and 'xmlUrl="https://wire.test/rss"' in out
    assert not (tmp_path / "-").exists()
