"""An API worker moves what loading its app built out of the garbage collector's view."""

from __future__ import annotations

import gc

from services.cli.serve import freeze_loaded_app


def test_objects_alive_after_loading_are_frozen_and_collection_stays_on() -> None:
    gc.unfreeze()
    kept = [object() for _ in range(1000)]
    try:
        freeze_loaded_app()
        assert gc.get_freeze_count() >= len(kept)
        assert gc.isenabled()  # requests' garbage is still collected as usual
    finally:
        gc.unfreeze()
