"""Where files the service cannot use go, with the reason beside them.

Nothing is ever silently dropped: a file that is empty, binary, too big,
undecodable or refused by the parser is moved out of the inbox (so it is not
retried forever) into the quarantine folder, next to a ``NAME.reason.json``
saying what was wrong and when. A person can fix it and drop it back in.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path


def _names(folder: Path, name: str, tag: str) -> Iterator[Path]:
    """``name`` in ``folder``, then with the tag (a hash prefix or a time) before
    the suffix, so ``a.txt`` becomes ``a.3f2c9e.txt`` and still opens with the
    same program."""
    yield folder / name
    stem, dot, suffix = name.partition(".")
    for n in range(1000):
        extra = tag if n == 0 else f"{tag}-{n}"
        yield folder / (f"{stem}.{extra}{dot}{suffix}" if dot else f"{name}.{extra}")


def move_into(path: Path, folder: Path, tag: str) -> Path | None:
    """Move ``path`` into ``folder`` under a name that overwrites nothing; where it
    went, or ``None`` when it was already gone.

    A move cut short between its link and its unlink (the daemon killed)
    left the file under one of those names already: that move is finished
    instead of the file being linked a second time.
    """
    for dest in _names(folder, path.name, tag):
        try:
            there = os.lstat(dest)
        except FileNotFoundError:
            return dest if move_out(path, dest) else None
        try:
            if os.path.samestat(os.lstat(path), there):
                path.unlink(missing_ok=True)
                return dest
        except FileNotFoundError:
            return None
    raise FileExistsError(f"no free name for {path.name} in {folder}")


def move_out(path: Path, dest: Path) -> bool:
    """Move ``path`` out of the inbox to ``dest``; False when it was already gone.

    A hard link and an unlink rather than a rename: a rename out of a
    watched folder is an ``IN_MOVED_FROM`` with no partner, which watchdog
    holds for half a second hoping for one, and every event behind it in
    its queue waits too (each new article would be half a second late).
    An unlink is an ``IN_DELETE``, delivered at once. Links work on
    symlinks and FIFOs as themselves (never followed, never opened); across
    filesystems the file is copied, then removed.
    """
    try:
        os.link(path, dest, follow_symlinks=False)
    except FileNotFoundError:
        return False
    except OSError:
        try:
            shutil.move(str(path), str(dest))
        except FileNotFoundError:
            return False
        return True
    path.unlink(missing_ok=True)
    return True


def quarantine_file(
    path: Path,
    folder: Path,
    *,
    reason: str,
    detail: str,
    at: datetime,
    sha256: str | None = None,
    size: int | None = None,
) -> Path | None:
    """Move ``path`` into ``folder`` and write its reason file beside it.

    A symlink or a FIFO moves as itself (see :func:`move_out`), so a link to
    ``/etc/passwd`` is never followed and a FIFO is never opened. Returns
    where the file went, or ``None`` when it was already gone.
    """
    folder.mkdir(parents=True, exist_ok=True)
    # A quarantine cut short is finished here, and its reason file rewritten.
    dest = move_into(path, folder, (sha256 or at.strftime("%Y%m%dT%H%M%S%f"))[:12])
    if dest is None:
        return None
    note = {
        "path": str(path),
        "quarantined_as": dest.name,
        "reason": reason,
        "detail": detail,
        "at": at.isoformat(timespec="seconds"),
        "sha256": sha256,
        "size": size,
    }
    reason_file = dest.with_name(dest.name + ".reason.json")
    tmp = reason_file.with_name("." + reason_file.name + ".tmp")
    tmp.write_text(json.dumps(note, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, reason_file)
    return dest
