"""The store: SQLModel tables, engine set-up and migrations."""
