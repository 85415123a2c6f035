"""The `herald` command: run the bot (or the console chat), check the config, try queries."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.config import Config, ConfigError, load_config
from bot.render import countdown, format_due
from bot.services.config_sync import spec_from_config

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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

    check = commands.add_parser("check-config", help="validate the config and summarise it")
    _add_config_option(check)
    return parser


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
        f"config OK: {len(config.deadlines)} deadlines, {len(config.topics)} topics, "
        f"{len(config.sources)} sources, {len(config.calendars)} calendars"
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


def run(path: str | None, console: bool) -> int:
    from bot.runtime import Runtime

    config = _load(path)
    if config is None:
        return 1
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    runtime = Runtime.create(config)
    if console or not token:
        from bot.interface.console import run_console

        if not console:
            print(
                "TELEGRAM_BOT_TOKEN is not set: starting a console chat instead (Ctrl-D quits).",
                file=sys.stderr,
            )
        return asyncio.run(run_console(runtime))
    from bot.interface.app import HeraldBot, build_application, run_until_signalled

    herald = HeraldBot(runtime, build_application(runtime, token))
    asyncio.run(run_until_signalled(herald))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get(
            "HERALD_LOG_LEVEL",
            "WARNING"
            if args.command == "run" and (args.console or not os.environ.get("TELEGRAM_BOT_TOKEN"))
            else "INFO",
        ),
        format=LOG_FORMAT,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if args.command == "check-config":
        return check_config(args.config)
    if args.command == "run":
        return run(args.config, args.console)
    return 2


if __name__ == "__main__":
    sys.exit(main())
