"""User-facing operations shared by the CLI and the web layer (follows, events, feeds, stories)."""
