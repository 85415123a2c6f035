"""Pure decisions of alert delivery: splitting, pacing, fair order, retries, quiet hours."""
