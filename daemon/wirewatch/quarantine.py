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
from datetime import datetime
from pathlib import Path


def unique_destination(folder: Path, name: str, tag: str) -> Path:
    """A path in ``folder`` for ``name`` that does not overwrite anything.

    On a clash the tag (a hash prefix or a time) goes before the suffix, so
    ``a.txt`` becomes ``a.3f2c9e.txt`` and still opens with the same program.
    """
    dest = folder / name
    if not dest.exists() and not dest.is_symlink():
        return dest
    stem, dot, suffix = name.partition(".")
    for n in range(1000):
        extra = tag if n == 0 else f"{tag}-{n}"
        candidate = folder / (f"{stem}.{extra}{dot}{suffix}" if dot else f"{name}.{extra}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
    raise FileExistsError(f"no free name for {name} in {folder}")


def already_linked(path: Path, dest: Path) -> bool:
    """Whether ``dest`` is ``path`` itself: a move cut short after its link."""
    try:
        return os.path.samestat(os.lstat(path), os.lstat(dest))
    except OSError:
        return False


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
    earlier = folder / path.name
    if already_linked(path, earlier):
        # Killed between the link and the unlink of an earlier quarantine:
        # finish that one (its reason file is rewritten below) instead of
        # quarantining the same file twice.
        path.unlink(missing_ok=True)
        dest = earlier
    else:
        tag = (sha256 or at.strftime("%Y%m%dT%H%M%S%f"))[:12]
        dest = unique_destination(folder, path.name, tag)
        if not move_out(path, dest):
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
