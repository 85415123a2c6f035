"""Pure rules that both the bot and its jobs need: time, recurrence, chat dates, queries, sources.

Nothing here touches the store, Telegram or the scheduler, so `bot/` and `jobs/` can both
depend on it without depending on each other.
"""
