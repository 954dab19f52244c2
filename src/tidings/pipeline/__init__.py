"""Orchestration above the stages: runs ingest -> extract -> enrich -> stories and writes to the store."""
