"""A service's runtime for a long-running command: logging configured, its schema migrated."""

from __future__ import annotations

import argparse

from services.catalog import runtime_for
from shared.logging import configure_logging
from shared.service import ServiceRuntime


def prepared_runtime(args: argparse.Namespace) -> ServiceRuntime:
    """The service's runtime with logging configured and, unless told not to, its schema at head."""
    runtime = runtime_for(args.service)
    configure_logging(args.service, runtime.settings.log_level)
    if not args.no_migrate:
        runtime.migrate()
    return runtime
