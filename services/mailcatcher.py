"""A local SMTP server for ``casehub dev``: every email the platform sends lands as a file in
``$CASEHUB_DATA_DIR/mail/`` instead of going nowhere (production uses a real SMTP relay).

aiosmtpd is a development dependency (``pip install -e '.[dev]'``, which ``make dev`` runs), so
it is imported only when a catcher starts: the production image does not carry it."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

DEFAULT_PORT = 1025
INSTALL_HINT = (
    "the mail catcher needs aiosmtpd, a development dependency: "
    "run `.venv/bin/pip install -e '.[dev]'` (make dev does)"
)


class MailCatcherUnavailable(RuntimeError):
    """Why no catcher runs, in words for the banner."""


class MailFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}.eml"
        (self.folder / name).write_bytes(envelope.content)
        return "250 Message accepted for delivery"


def start_mail_catcher(folder: Path, port: int) -> Any:
    """Catch mail on 127.0.0.1:port into ``folder``; the running aiosmtpd controller (``.stop()``
    it). Raises MailCatcherUnavailable when aiosmtpd is missing or the port cannot be had."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        raise MailCatcherUnavailable(INSTALL_HINT) from None
    controller = Controller(MailFolder(folder), hostname="127.0.0.1", port=port)
    try:
        controller.start()
    except (OSError, RuntimeError) as error:
        raise MailCatcherUnavailable(f"port {port} could not be had ({error})") from None
    return controller
