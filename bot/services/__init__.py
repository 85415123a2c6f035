"""Services: what handlers and jobs do to the store. Nothing here imports telegram."""
