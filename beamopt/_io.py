"""Small I/O helpers: atomic file writes, CSV text, optional progress bars."""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["write_atomic", "csv_text", "write_csv_rows", "progress_bar"]


def write_atomic(path, data: str | bytes) -> Path:
    """Write `data` to `path` through a temporary file and `os.replace`.

    A crash mid-write leaves the old file or none, never a truncated one; the temporary
    file lives in the same directory so the final rename is atomic.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def csv_text(header: Sequence[str], columns: Sequence[np.ndarray], comments=()) -> str:
    lines = [f"# {c}" for c in comments]
    lines.append(",".join(header))
    data = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    # %.17g round-trips doubles exactly; inf and nan are written as 'inf'/'nan'
    lines.extend(",".join(f"{v:.17g}" for v in row) for row in data)
    return "\n".join(lines) + "\n"


def write_csv_rows(path, rows: Sequence[dict]) -> Path:
    """Write a list of dict rows (same keys) as CSV, atomically via `write_atomic`."""
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return write_atomic(path, buf.getvalue())


def progress_bar(iterable, enabled: bool, desc: str, total=None):
    """A tqdm bar over `iterable` on a terminal; whole progress lines otherwise.

    Without a terminal (a log file, a pipe, CI) tqdm cannot redraw in place and its
    carriage returns would run into the next line, so at most about ten complete
    `desc: i/n` lines are written to stderr instead.
    """
    if not enabled:
        return iterable
    if not _stderr_is_tty():
        return _plain_progress(iterable, desc, total)
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def _plain_progress(iterable, desc: str, total=None):
    if total is None:
        total = len(iterable) if hasattr(iterable, "__len__") else None
    step = max(1, -(-total // 10)) if total else 1
    done = 0
    for item in iterable:
        yield item
        done += 1
        if done % step == 0 or done == total:
            of = f"/{total}" if total else ""
            print(f"{desc}: {done}{of}", file=sys.stderr, flush=True)
