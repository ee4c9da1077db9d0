"""Where prodtel keeps files per app, by platformdirs (imported only when a path is needed).

    Linux    config ~/.config/<app> (XDG_CONFIG_HOME)  state ~/.local/state/<app> (XDG_STATE_HOME)
    macOS    config and state ~/Library/Application Support/<app> (XDG_* variables win if set)
    Windows  config and state %LOCALAPPDATA%\\<app> (not roaming: the outbox is per machine)

On macOS and Windows both are one folder; the file names never collide (telemetry.json there,
outbox.sqlite3, sent.jsonl and upload.lock here).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from platformdirs.api import PlatformDirsABC


def config_dir(app: str, layout: type[PlatformDirsABC] | None = None) -> str:
    """The consent file's folder. `layout`: a platformdirs class other than this platform's."""
    if layout is None:
        from prodtel.platform import dirmemo  # this platform's answer, remembered

        return dirmemo.lookup("config", app)
    return _dirs(app, layout).user_config_dir


def state_dir(app: str, layout: type[PlatformDirsABC] | None = None) -> str:
    """The outbox, sent log and uploader lock's folder."""
    if layout is None:
        from prodtel.platform import dirmemo

        return dirmemo.lookup("state", app)
    return _dirs(app, layout).user_state_dir


def _dirs(app: str, layout: type[PlatformDirsABC] | None) -> PlatformDirsABC:
    if layout is None:
        from platformdirs import PlatformDirs

        return PlatformDirs(app, appauthor=False)
    return layout(app, appauthor=False)
