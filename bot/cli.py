"""The `herald` command: run the bot (or the console chat), check the config, try queries."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime

from bot import memory
from bot.config import Config, ConfigError, load_config
from bot.logs import keep_secret
from bot.logs import setup as setup_logging
from bot.render import countdown, format_due
from bot.render.common import plural
from bot.services.config_sync import spec_from_config

NO_TOKEN_EXIT = 2


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="PATH", help="config file (default: $HERALD_CONFIG or ./config.yaml)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="herald", description="Deadline and news alerts on Telegram."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the bot (the console chat when no token is set)")
    _add_config_option(run)
    run.add_argument("--console", action="store_true", help="chat with Herald in this terminal")
    run.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="HTTP server for /healthz /readyz /metrics /calendar.ics (and the webhook); "
        "'off' disables (default: $HERALD_LISTEN or 127.0.0.1:8080)",
    )
    run.add_argument(
        "--webhook-url",
        metavar="URL",
        help="take updates by webhook at this public URL (secret: $HERALD_WEBHOOK_SECRET)",
    )

    check = commands.add_parser("check-config", help="validate the config and summarise it")
    _add_config_option(check)
    _add_sources_parser(commands)

    trying = commands.add_parser("try", help="try the bot's own matching and finding on text")
    tries = trying.add_subparsers(dest="what", required=True, metavar="WHAT")
    query = tries.add_parser(
        "query", help="does a topic query match a text? (exit 0 yes, 1 no, 2 invalid)"
    )
    query.add_argument("query", help="the query, e.g. '\"rare earth\" -stocks'")
    query.add_argument("text", help="the text to match (title and summary)")
    query.add_argument("--json", action="store_true", help="one JSON object instead of words")
    found = tries.add_parser(
        "deadlines", help="deadlines found in the text on stdin, as JSON lines"
    )
    found.add_argument(
        "--published",
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="publication date that year-less and relative dates resolve against (default today)",
    )
    tries.add_parser("stories", help="cluster JSON-line items on stdin into stories")
    return parser


def _add_sources_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sources = commands.add_parser("sources", help="check, import or export news sources")
    actions = sources.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="fetch every configured source once, now")
    _add_config_option(check)
    check.add_argument("--json", action="store_true", help="print a JSON array")
    for name, what in (("import", "add the sources of an OPML file"), ("export", "write OPML")):
        action = actions.add_parser(name, help=what)
        action.add_argument("file", metavar="FILE")


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write 2025-07-09") from None


def try_command(args: argparse.Namespace) -> int:
    """`herald try`: exactly the code paths the bot uses."""
    if args.what == "query":
        from jobs.sources.try_query import run_try_query

        return run_try_query(args.query, args.text, as_json=args.json, out=sys.stdout)
    from jobs.signals.try_cli import run_try_deadlines, run_try_stories

    if args.what == "deadlines":
        return run_try_deadlines(sys.stdin, sys.stdout, published=args.published)
    return run_try_stories(sys.stdin, sys.stdout)


def _load(path: str | None, err: object = sys.stderr) -> Config | None:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(str(exc), file=err)  # type: ignore[call-overload]
        return None


def check_config(path: str | None) -> int:
    """Print a summary of a valid config (exit 0) or its errors (exit 1)."""
    config = _load(path)
    if config is None:
        return 1
    now = datetime.now(UTC)
    print(
        f"config OK: {plural(len(config.deadlines), 'deadline')}, "
        f"{plural(len(config.topics), 'topic')}, {plural(len(config.sources), 'source')}, "
        f"{plural(len(config.calendars), 'calendar')}"
    )
    specs = sorted(
        (spec_from_config(d, config.timezone) for d in config.deadlines), key=lambda s: s.due_at
    )
    upcoming = [s for s in specs if s.due_at > now][:3]
    if upcoming:
        print("next deadlines:")
        for spec in upcoming:
            print(
                f"  {spec.slug}: {spec.title} — "
                f"{format_due(spec.due_at, spec.timezone, spec.all_day)} "
                f"({countdown(spec.due_at, now)})"
            )
    else:
        print("no upcoming deadlines in the config (all have passed)")
    return 0


def run(
    path: str | None, console: bool, listen_text: str | None = None, webhook_url: str | None = None
) -> int:
    from bot.runtime import Runtime
    from bot.service import Listen, ServiceError, Webhook, parse_listen, webhook_from

    memory.limit_arenas()  # before any thread starts

    config = _load(path)
    if config is None:
        return 1
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    keep_secret(token)
    if not console and not token and not sys.stdin.isatty():
        print(
            "TELEGRAM_BOT_TOKEN is not set: set it to the token from @BotFather to run the bot, "
            "or pass --console to chat with Herald on standard input.",
            file=sys.stderr,
        )
        return NO_TOKEN_EXIT
    listen: Listen | None = None
    webhook: Webhook | None = None
    if not console and token:
        try:
            listen = parse_listen(listen_text or os.environ.get("HERALD_LISTEN"))
            if webhook_url:
                if listen is None:
                    raise ServiceError("--webhook-url needs the HTTP server: drop --listen off")
                webhook = webhook_from(webhook_url)
                keep_secret(webhook.secret)
        except ServiceError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    runtime = Runtime.create(config)
    if console or not token:
        from bot.interface.console import run_console

        if not console:
            print(
                "TELEGRAM_BOT_TOKEN is not set: starting a console chat instead (Ctrl-D quits).",
                file=sys.stderr,
            )
        try:
            return asyncio.run(run_console(runtime))
        except KeyboardInterrupt:
            return 0
    from bot.interface.app import HeraldBot, build_application, run_until_signalled

    herald = HeraldBot(runtime, build_application(runtime, token), listen=listen, webhook=webhook)
    return asyncio.run(run_until_signalled(herald))


def sources(action: str, path: str | None, file: str | None, as_json: bool) -> int:
    """`herald sources check|import|export`."""
    config = _load(path) if action == "check" else None
    if action == "check" and config is None:
        return 1
    from pathlib import Path

    from bot.store.db import make_engine, migrate
    from jobs.sources import cli as sources_cli

    engine = make_engine()
    try:
        migrate(engine)
        if config is not None:
            return asyncio.run(sources_cli.run_check(config, engine, sys.stdout, as_json=as_json))
        if action == "import":
            return sources_cli.import_opml(engine, Path(str(file)), sys.stdout)
        return sources_cli.export_opml(engine, Path(str(file)), sys.stdout)
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    memory.skip_httpx_cli()
    args = build_parser().parse_args(argv)
    setup_logging(
        os.environ.get(
            "HERALD_LOG_LEVEL",
            "WARNING"
            if args.command == "run" and (args.console or not os.environ.get("TELEGRAM_BOT_TOKEN"))
            else "INFO",
        ),
        os.environ.get("HERALD_LOG_FORMAT", "text").strip().lower(),
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if args.command == "check-config":
        return check_config(args.config)
    if args.command == "run":
        return run(args.config, args.console, args.listen, args.webhook_url)
    if args.command == "try":
        return try_command(args)
    if args.command == "sources":
        as_json = bool(getattr(args, "json", False))
        return sources(
            args.action, getattr(args, "config", None), getattr(args, "file", None), as_json
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
