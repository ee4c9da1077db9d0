"""Load an app's catalog from `module:ATTR` or `path/to/file.py:ATTR` (the CLIs' --catalog)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prodtel.catalog import Catalog


def load_catalog(spec: str) -> Catalog:
    """`pkg.module:ATTR` or `path/to/file.py:ATTR`."""
    target, _, attr = spec.rpartition(":")
    if not target or not attr:
        raise SystemExit(f"--catalog must look like module:ATTR or file.py:ATTR, not {spec!r}")
    if target.endswith(".py"):
        path = Path(target).resolve()
        sys.path.insert(0, str(path.parent))
        loaded = importlib.util.spec_from_file_location(path.stem, path)
        if loaded is None or loaded.loader is None:
            raise SystemExit(f"cannot load {target}")
        module = importlib.util.module_from_spec(loaded)
        loaded.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    catalog: Catalog = getattr(module, attr)
    return catalog
