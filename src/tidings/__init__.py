"""Tidings: a self-hosted, personalised news feed of the stories that matter to each reader."""

__version__ = "0.1.0"
