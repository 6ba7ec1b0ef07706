"""The ``casehub`` command: run APIs and workers, migrate, mint dev tokens, operate the DLQ.

One module per command group; :mod:`services.cli.commands` builds the parser."""

from services.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
