"""Files under var/ are private to the service's user: files 0600, directories 0700.

var/ holds case text (the SQLite database and its -wal/-shm, the escalation spool), logs and
generated secrets, so nothing there may be readable by another account on the machine, whatever
the umask of the shell that started us. Files are created with an explicit mode (the umask can
only remove bits, and 0600 has none it may remove that we want) and tightened if they already
existed.

One exception, kept on purpose: nginx's workers run as `nobody` and spool large request bodies
under var/prod/nginx-tmp, so `ops.stack.open_nginx_temp` gives the directories on that path the
traverse bit (0711: no listing, no reading). `private_dir` therefore takes away group and other
read and write bits from a directory that already exists but leaves its traverse bits alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700
_GROUP_OTHER_RW = 0o066


def private_dir(path: Path, *, tighten_existing: bool = True) -> Path:
    """Create `path` (and missing parents) as 0700. With `tighten_existing`, an existing
    directory of ours loses group and other read/write (its traverse bits stay, see the module
    note); a shared sticky directory such as /tmp is never touched. Returns `path`."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, DIR_MODE)  # mkdir's parents=True ignores `mode` for the parents
    if not tighten_existing or path in missing:
        return path
    info = path.stat()
    mode = info.st_mode & 0o7777
    if mode & _GROUP_OTHER_RW and not mode & 0o1000 and info.st_uid == os.getuid():
        os.chmod(path, mode & ~_GROUP_OTHER_RW)
    return path


def private_file(path: Path) -> Path:
    """Make sure `path` exists with mode 0600 (created empty if missing, in a directory created
    0700 if missing). Returns `path`."""
    private_dir(path.parent, tighten_existing=False)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE))
    tighten(path)
    return path


def tighten(path: Path) -> None:
    """0600 for a file of ours that may have been created with a looser mode."""
    try:
        if path.stat().st_mode & 0o777 != FILE_MODE and path.stat().st_uid == os.getuid():
            os.chmod(path, FILE_MODE)
    except FileNotFoundError:
        pass


def open_private(path: Path, mode: str = "w", encoding: str | None = "utf-8") -> IO[Any]:
    """`open(path, mode)` for writing, the file created (or truncated) as 0600."""
    flags = os.O_WRONLY | os.O_CREAT
    flags |= os.O_APPEND if "a" in mode else os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    tighten(path)
    if "b" in mode:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding=encoding)
