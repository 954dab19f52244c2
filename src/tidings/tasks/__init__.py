"""The task queue on PostgreSQL (procrastinate): fetching, ingest, full text, re-enrichment and training as
retried, locked tasks run by `tidings worker` processes. SQLite installs never import this package."""
