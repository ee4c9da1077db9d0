"""The persisted consent file: the user's choice, the installation id, when the notice was shown.

One small JSON file per app in the platformdirs config dir (XDG_CONFIG_HOME is honoured). An
unreadable, corrupt or unwritable file never stops the app: `problem` says why, and the in-memory
defaults apply.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FILENAME = "telemetry.json"


def default_dir(app: str) -> str:
    from prodtel.platform import dirs

    return dirs.config_dir(app)


class ConsentStore:
    """Read and write `<config dir>/telemetry.json`."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, FILENAME)
        self.data: dict[str, Any] = {}
        self.problem: str | None = None

    def load(self) -> ConsentStore:
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return self
        except OSError as e:
            self.problem = f"cannot read {self.path}: {e.strerror or e}"
            return self
        from prodtel import jsonread  # json's own parser, without importing json and re

        try:
            data = jsonread.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            self.problem = f"ignoring corrupt {self.path}: {e}"
            return self
        self.data = data
        return self

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def update(self, **changes: Any) -> bool:
        """Apply and persist changes atomically; False (and `problem` set) if it cannot write."""
        import json

        self.data.update(changes)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(self.directory, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(self.data, f, indent=2, sort_keys=True)
                f.write("\n")
            os.replace(tmp, self.path)
        except OSError as e:
            self.problem = f"cannot write {self.path}: {e.strerror or e} (in-memory defaults apply)"
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False
        return True
