"""The Telegram edge: handlers, application wiring, and the console front end."""
