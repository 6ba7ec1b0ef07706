"""``python -m services.cli`` runs the ``casehub`` command."""

import sys

from services.cli.commands import main

sys.exit(main())
