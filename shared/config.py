"""Settings read from environment variables only (12-factor), with defaults that work on a laptop."""

from __future__ import annotations

import ipaddress
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.clock import TIMEZONE_VARIABLE, agency_zone_named

SERVICE_NAMES: tuple[str, ...] = ("intake", "planning", "referrals", "notifications", "reporting")
SERVICE_PORTS: Mapping[str, int] = {
    "intake": 8001,
    "planning": 8002,
    "referrals": 8003,
    "notifications": 8004,
    "reporting": 8005,
}
#: A worker's /metrics, /healthz and /readyz when CASEHUB_METRICS_PORT is not set.
WORKER_METRICS_PORTS: Mapping[str, int] = {
    name: port + 1100 for name, port in SERVICE_PORTS.items()
}
DEVELOPMENT_JWT_SECRET = "casehub-development-secret-change-me"
#: Shorter HS256 secrets can be brute-forced offline from a single token (RFC 7518 §3.2).
MINIMUM_JWT_SECRET_BYTES = 32
EMBEDDED_BROKER_URL = "filesystem://"
#: Where ``casehub api`` listens unless told otherwise: this machine only.
LOOPBACK_HOST = "127.0.0.1"
#: Development only: webhooks may go to http:// and to loopback or private addresses.
ALLOW_PRIVATE_WEBHOOKS_VARIABLE = "CASEHUB_ALLOW_PRIVATE_WEBHOOKS"
PLATFORM_EXCHANGE = "casehub.events"
#: The event archive's retention (RabbitMQ ``x-max-age`` / ``x-max-length-bytes``): as long as
#: client records are kept (CASEHUB_RETENTION_YEARS), within 50 GB (about 50 million events).
DEFAULT_ARCHIVE_MAX_AGE = "7Y"
DEFAULT_ARCHIVE_MAX_BYTES = 50_000_000_000


def default_data_dir() -> Path:
    """Where the embedded default keeps its SQLite files and broker folder."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "casehub"


def without_password(url: str) -> str:
    """A database or broker URL fit for a terminal or a log line: its password replaced."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def is_loopback_bind(host: str) -> bool:
    """Whether a listener on ``host`` is reachable from this machine only. Anything else —
    ``0.0.0.0``, ``::``, an interface address, a name other than ``localhost`` — counts as
    reachable from the network."""
    host = host.strip().removeprefix("[").removesuffix("]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _flag(env: Mapping[str, str], name: str) -> bool:
    """An on/off setting; anything but the usual spellings fails at start, not silently."""
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name} must be 1 or 0, got {raw!r}")


def _floats(raw: str) -> tuple[float, ...]:
    values = tuple(float(part) for part in raw.split(",") if part.strip())
    if not values or any(value <= 0 for value in values):
        raise ValueError(f"retry delays must be positive seconds, got {raw!r}")
    return values


def _archive_age(raw: str | None) -> str:
    """Checked at start: RabbitMQ refuses a malformed ``x-max-age`` when the stream is declared."""
    from shared.messaging.archive import max_age

    text = (raw or DEFAULT_ARCHIVE_MAX_AGE).strip()
    max_age(text)
    return text


def _positive(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of bytes, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a service process needs to know about its environment."""

    service: str
    data_dir: Path
    database_url: str
    broker_url: str
    exchange: str = PLATFORM_EXCHANGE
    #: None: derived from the exchange (see Topology.build); "" forces unprefixed names.
    queue_prefix: str | None = None
    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_public_key: str | None = None
    #: The identity provider's JWKS endpoint: RS256/ES256 keys picked by ``kid``, refetched when
    #: it rotates them. Takes precedence over the public key and the secret.
    jwt_jwks_url: str | None = None
    #: Where the roles are in the token: a claim name or a dotted path (``realm_access.roles``).
    jwt_roles_claim: str = "roles"
    jwt_audience: str = "casehub"
    jwt_issuer: str = "casehub"
    retry_delays: tuple[float, ...] = (1.0, 10.0, 60.0)
    delivery_limit: int = 20
    prefetch: int = 200
    relay_batch_size: int = 500
    relay_poll_interval: float = 1.0
    #: The shortest time between two relay wake-ups one process sends (``CommitNotifier``).
    relay_wake_interval: float = 0.02
    confirm_timeout: float = 10.0
    broker_connect_timeout: float = 5.0
    broker_heartbeat: int = 30
    embedded_polling_interval: float = 0.05
    outbox_retention_days: float = 7.0
    #: Handled event ids kept for duplicate detection; never less than the outbox's retention,
    #: so events republished from an outbox (docs/operations.md, restore) are still recognised.
    inbox_retention_days: float = 30.0
    max_content_length: int = 1_048_576
    #: Failed tokens or API keys one address may send within ``auth_failure_window`` seconds
    #: before it is answered 429 (``CASEHUB_AUTH_FAILURE_LIMIT``; 0 turns the limit off).
    auth_failure_limit: int = 20
    auth_failure_window: float = 60.0
    log_level: str = "INFO"
    #: Where /metrics is served instead of the API's own port (the gunicorn master serves it,
    #: summing every worker) and the worker's metrics and probe port. None: an API serves
    #: /metrics on its own port, a worker on ``WORKER_METRICS_PORTS``.
    metrics_port: int | None = None
    #: Where a worker's metrics and probe port listens (``CASEHUB_METRICS_HOST``): this machine
    #: only unless told, like ``casehub api``; the manifests and compose set 0.0.0.0.
    metrics_host: str = LOOPBACK_HOST
    #: Development only (``CASEHUB_ALLOW_PRIVATE_WEBHOOKS=1``): webhook URLs may be http:// and
    #: point at loopback or private addresses. Off unless set; ``casehub dev`` sets it.
    allow_private_webhooks: bool = False
    #: How long break-the-glass access to one client's crisis picture lasts
    #: (``CASEHUB_EMERGENCY_ACCESS_HOURS``, default 12).
    emergency_access_hours: float = 12.0
    #: Fernet keys of the free-text clinical fields (``CASEHUB_ENCRYPTION_KEYS``, the first
    #: encrypts); none: the public development key, for the embedded default only.
    encryption_keys: tuple[str, ...] = ()
    #: How long after discharge a client's record is kept before intake announces that its
    #: retention expired (``CASEHUB_RETENTION_YEARS``, default 7; a legal hold stops it).
    retention_years: float = 7.0
    #: Retention of the event archive (``CASEHUB_ARCHIVE_MAX_AGE``, ``CASEHUB_ARCHIVE_MAX_BYTES``):
    #: the stream's arguments on RabbitMQ, the segment folder's limits on the embedded default.
    archive_max_age: str = DEFAULT_ARCHIVE_MAX_AGE
    archive_max_bytes: int = DEFAULT_ARCHIVE_MAX_BYTES
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def broker_folder(self) -> Path:
        """The embedded transport's folder: one absolute directory shared by every process."""
        return self.data_dir / "broker"

    @property
    def uses_embedded_broker(self) -> bool:
        return self.broker_url.startswith(("filesystem:", "memory:"))

    @property
    def is_embedded_default(self) -> bool:
        """SQLite file and broker-less transport: one laptop, nothing shared."""
        return self.database_url.startswith("sqlite") and self.uses_embedded_broker

    def token_secret_problem(self, bind_host: str = LOOPBACK_HOST) -> str | None:
        """Why an API listening on ``bind_host`` must not verify tokens with its HS256 secret,
        or None when it may.

        The development secret is public and a short one can be guessed, so either would let
        anyone who reaches the API mint an admin token: only the embedded default listening on
        loopback may use them. Any other bind address is refused whatever the backends."""
        if self.jwt_jwks_url or self.jwt_public_key:
            return None
        exposed = not is_loopback_bind(bind_host)
        if not exposed and self.is_embedded_default:
            return None
        where = (
            f"the API would listen on {bind_host}, reachable from the network"
            if exposed
            else "this is not the embedded default (SQLite and filesystem://)"
        )
        if self.jwt_secret == DEVELOPMENT_JWT_SECRET:
            return (
                f"CASEHUB_JWT_SECRET is not set, and the development secret is public while {where}: "
                f"set CASEHUB_JWT_SECRET to {MINIMUM_JWT_SECRET_BYTES}+ random bytes (e.g. "
                "`openssl rand -hex 32`), or CASEHUB_JWT_PUBLIC_KEY to your identity "
                "provider's RS256 key."
            )
        if len(self.jwt_secret.encode()) < MINIMUM_JWT_SECRET_BYTES:
            return (
                f"CASEHUB_JWT_SECRET is shorter than {MINIMUM_JWT_SECRET_BYTES} bytes and could "
                f"be guessed from one token while {where}: use `openssl rand -hex 32`, or "
                "CASEHUB_JWT_PUBLIC_KEY for RS256."
            )
        return None

    def encryption_key_problem(self, bind_host: str = LOOPBACK_HOST) -> str | None:
        """Why this process must not start with its note encryption keys, or None: a key that
        is not a Fernet key, or none at all (the public development key) anywhere but the
        embedded default on loopback, as ``token_secret_problem`` treats the JWT secret."""
        from shared import crypto

        if self.encryption_keys:
            return crypto.key_problem(self.encryption_keys)
        if self.is_embedded_default and is_loopback_bind(bind_host):
            return None
        return (
            f"{crypto.KEYS_VARIABLE} is not set, and the development key that would encrypt "
            "clinical notes is public: set it to a Fernet key (`casehub keys generate`), "
            "keeping old keys after it while `casehub keys rotate` re-encrypts."
        )

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        agency_zone_named(env.get(TIMEZONE_VARIABLE, "UTC"))  # a typo fails at start, not later
        data_dir = Path(env.get("CASEHUB_DATA_DIR") or default_data_dir()).expanduser().resolve()
        database_url = (
            env.get(f"{service.upper()}_DATABASE_URL") or f"sqlite:///{data_dir / service}.db"
        )
        public_key = env.get("CASEHUB_JWT_PUBLIC_KEY")
        if public_key and Path(public_key).is_file():
            public_key = Path(public_key).read_text()
        return cls(
            service=service,
            data_dir=data_dir,
            database_url=database_url,
            broker_url=env.get("CASEHUB_BROKER_URL") or EMBEDDED_BROKER_URL,
            exchange=env.get("CASEHUB_EXCHANGE", PLATFORM_EXCHANGE),
            queue_prefix=env.get("CASEHUB_QUEUE_PREFIX"),
            jwt_secret=env.get("CASEHUB_JWT_SECRET", DEVELOPMENT_JWT_SECRET),
            jwt_public_key=public_key or None,
            jwt_jwks_url=env.get("CASEHUB_JWT_JWKS_URL") or None,
            jwt_roles_claim=env.get("CASEHUB_JWT_ROLES_CLAIM", "roles"),
            jwt_audience=env.get("CASEHUB_JWT_AUDIENCE", "casehub"),
            jwt_issuer=env.get("CASEHUB_JWT_ISSUER", "casehub"),
            retry_delays=_floats(env.get("CASEHUB_RETRY_DELAYS", "1,10,60")),
            delivery_limit=int(env.get("CASEHUB_DELIVERY_LIMIT", "20")),
            prefetch=min(max(int(env.get("CASEHUB_PREFETCH", "200")), 1), 500),
            relay_batch_size=int(env.get("CASEHUB_RELAY_BATCH_SIZE", "500")),
            relay_poll_interval=float(env.get("CASEHUB_RELAY_POLL_INTERVAL", "1.0")),
            relay_wake_interval=float(env.get("CASEHUB_RELAY_WAKE_INTERVAL", "0.02")),
            confirm_timeout=float(env.get("CASEHUB_CONFIRM_TIMEOUT", "10")),
            broker_connect_timeout=float(env.get("CASEHUB_BROKER_CONNECT_TIMEOUT", "5")),
            broker_heartbeat=int(env.get("CASEHUB_BROKER_HEARTBEAT", "30")),
            embedded_polling_interval=float(env.get("CASEHUB_EMBEDDED_POLLING_INTERVAL", "0.05")),
            outbox_retention_days=float(env.get("CASEHUB_OUTBOX_RETENTION_DAYS", "7")),
            inbox_retention_days=float(env.get("CASEHUB_INBOX_RETENTION_DAYS", "30")),
            max_content_length=int(env.get("CASEHUB_MAX_CONTENT_LENGTH", "1048576")),
            auth_failure_limit=int(env.get("CASEHUB_AUTH_FAILURE_LIMIT", "20")),
            auth_failure_window=float(env.get("CASEHUB_AUTH_FAILURE_WINDOW", "60")),
            log_level=env.get("CASEHUB_LOG_LEVEL", "INFO").upper(),
            metrics_port=int(env["CASEHUB_METRICS_PORT"])
            if env.get("CASEHUB_METRICS_PORT")
            else None,
            metrics_host=env.get("CASEHUB_METRICS_HOST") or LOOPBACK_HOST,
            allow_private_webhooks=_flag(env, ALLOW_PRIVATE_WEBHOOKS_VARIABLE),
            emergency_access_hours=float(env.get("CASEHUB_EMERGENCY_ACCESS_HOURS", "12")),
            retention_years=float(env.get("CASEHUB_RETENTION_YEARS", "7")),
            archive_max_age=_archive_age(env.get("CASEHUB_ARCHIVE_MAX_AGE")),
            archive_max_bytes=_positive(
                "CASEHUB_ARCHIVE_MAX_BYTES",
                env.get("CASEHUB_ARCHIVE_MAX_BYTES") or str(DEFAULT_ARCHIVE_MAX_BYTES),
            ),
            encryption_keys=tuple(
                part.strip()
                for part in env.get("CASEHUB_ENCRYPTION_KEYS", "").split(",")
                if part.strip()
            ),
        )


def container_cpus(cgroup: Path = Path("/sys/fs/cgroup")) -> float:
    """CPUs this process may use: the container's CPU quota (cgroup v2 ``cpu.max`` or v1
    ``cpu.cfs_quota_us``), else the CPUs it is pinned to. ``os.cpu_count()`` is the node's count,
    which on a 64-core node would start 129 gunicorn workers in a pod limited to one CPU."""
    quota: float | None = None
    try:
        limit, period = (cgroup / "cpu.max").read_text().split()[:2]
        if limit != "max":
            quota = int(limit) / int(period)
    except (OSError, ValueError):
        try:
            limit = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
            period = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
            if limit > 0 and period > 0:
                quota = limit / period
        except (OSError, ValueError):
            pass
    pinned = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    available = float(pinned or 1)
    return min(quota, available) if quota else available


def default_api_workers(env: Mapping[str, str] | None = None, cpus: float | None = None) -> int:
    """gunicorn workers per API process: ``CASEHUB_API_WORKERS`` if set, else 2 per CPU of the
    container's quota plus one, at most 8 (each worker holds its own database pool)."""
    env = os.environ if env is None else env
    if env.get("CASEHUB_API_WORKERS"):
        return max(int(env["CASEHUB_API_WORKERS"]), 1)
    cpus = container_cpus() if cpus is None else cpus
    return max(1, min(int(2 * cpus) + 1, 8))
