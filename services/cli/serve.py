"""Long-running processes: a service's API under gunicorn, its worker; development tokens."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.catalog import FRONTEND_NAMES, load_frontend, runtime_for
from services.cli.database import migrate_web
from services.cli.runtimes import prepared_runtime
from shared.config import (
    LOOPBACK_HOST,
    SERVICE_PORTS,
    Settings,
    default_api_workers,
)
from shared.logging import configure_logging


def _encryption_problem(
    service: str, settings: Settings, bind_host: str = LOOPBACK_HOST
) -> str | None:
    """Only a service that keeps encrypted clinical notes needs the keys to start."""
    from services.catalog import load_spec
    from shared.crypto import encrypted_columns

    if not encrypted_columns(load_spec(service).metadata):
        return None
    return settings.encryption_key_problem(bind_host)


def freeze_loaded_app(_worker: Any = None) -> None:
    """gunicorn's ``post_worker_init``: the app's long-lived objects (modules, schemas, mappers),
    built once per worker, leave the collector's view, so a full collection scans only what
    requests allocate. Unfrozen, one took 140 to 300 ms under load and made the slowest request of
    every in-process search run (bench/RESULTS.md)."""
    gc.collect()
    gc.freeze()


def cmd_api(args: argparse.Namespace) -> int:
    import tempfile

    from gunicorn.app.base import BaseApplication

    from shared import metrics
    from shared.web.hardening import hide_server_header

    load_app: Callable[[], Any]
    if args.service in FRONTEND_NAMES:  # the browser app: sessions only, no events
        frontend = load_frontend(args.service)
        web_settings = frontend.load_settings(args.host)
        settings = web_settings.platform
        problem = web_settings.startup_problem()
        if problem:
            print(f"casehub api web: refusing to start: {problem}", file=sys.stderr)
            return 2
        configure_logging("web", settings.log_level)
        if not args.no_migrate:
            migrate_web(check=False, wait=0)
        port = args.port or frontend.port
        scrape_hooks: list[Callable[[], None]] = []

        def load_app() -> Any:
            return frontend.create_app(web_settings)

    else:
        settings = Settings.from_env(args.service)
        problem = settings.token_secret_problem(args.host) or _encryption_problem(
            args.service, settings, args.host
        )
        if problem:
            print(f"casehub api {args.service}: refusing to start. {problem}", file=sys.stderr)
            return 2
        runtime = prepared_runtime(args)
        port = args.port or SERVICE_PORTS[args.service]
        scrape_hooks = runtime.scrape_hooks()

        def load_app() -> Any:
            return runtime_for(args.service).create_app()

    metrics_port = args.metrics_port if args.metrics_port is not None else settings.metrics_port
    if metrics_port is not None:
        os.environ["CASEHUB_METRICS_PORT"] = str(metrics_port)  # the workers' apps read it
    # Every gunicorn worker writes its metrics to files here, so one scrape sums them all.
    configured = os.environ.get(metrics.MULTIPROC_VARIABLE)
    folder = Path(configured or tempfile.mkdtemp(prefix=f"casehub-{args.service}-metrics-"))
    metrics.use_multiprocess_dir(folder)
    metrics_server: list[metrics.MetricsServer] = []

    def when_ready(_server: Any) -> None:
        if metrics_port is not None:
            metrics_server.append(
                metrics.MetricsServer(args.host, metrics_port, hooks=scrape_hooks).start()
            )

    def child_exit(_server: Any, worker: Any) -> None:
        metrics.process_exited(worker.pid)

    options = {
        "bind": f"{args.host}:{port}",
        "workers": args.workers or default_api_workers(),
        "when_ready": when_ready,
        "child_exit": child_exit,
        "post_worker_init": freeze_loaded_app,
        "worker_class": "gthread",
        "threads": args.threads,
        "timeout": getattr(args, "timeout", 30),
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }

    class CasehubApi(BaseApplication):  # type: ignore[misc]
        """gunicorn loads the app in each worker after the fork: no shared sockets."""

        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return load_app()

    hide_server_header()
    master = os.getpid()
    try:
        CasehubApi().run()
    finally:
        # gunicorn's workers leave through here too (SystemExit after the fork): only the
        # master owns the metrics server and the folder.
        if os.getpid() == master:
            for server in metrics_server:
                server.stop()
            if not configured:
                metrics.remove_multiprocess_dir(folder)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from shared import metrics
    from shared.worker import run_worker

    metrics.use_single_process()
    problem = _encryption_problem(args.service, Settings.from_env(args.service))
    if problem:
        print(f"casehub worker {args.service}: refusing to start. {problem}", file=sys.stderr)
        return 2
    run_worker(prepared_runtime(args), metrics_port=args.metrics_port)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from shared.web.auth import mint_token

    settings = Settings.from_env("cli")
    print(mint_token(settings, args.sub, args.role, org=args.org, ttl_seconds=args.ttl))
    return 0
