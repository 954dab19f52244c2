"""`python -m tidings` runs the command line."""

from tidings.cli.main import run

run()
