"""A local SMTP server for ``casehub dev``: every email the platform sends lands as a file in
``$CASEHUB_DATA_DIR/mail/`` instead of going nowhere (production uses a real SMTP relay)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MailFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}.eml"
        (self.folder / name).write_bytes(envelope.content)
        return "250 Message accepted for delivery"


def start_mail_catcher(folder: Path, port: int) -> Controller | None:
    """Start catching mail on 127.0.0.1:port; None when the port is taken (a catcher already runs)."""
    controller = Controller(MailFolder(folder), hostname="127.0.0.1", port=port)
    try:
        controller.start()
    except (OSError, RuntimeError):
        return None
    return controller
