"""Where a run keeps its work, and how a finished report is put in place.

- **Private work** (:func:`private_folder`): the staged data, the synthetic demo's input files,
  what the chapters record and the executed notebooks live in a folder made by
  :func:`tempfile.mkdtemp` (mode 0700) in the system temporary folder (``$TMPDIR``), never under
  the output folder. Its name starts ``dispro-<pid>-`` and it holds a marker naming the owning
  process; it is removed when the run ends, however it ends.
- **Staged report**: the published files (HTML, workbook, PDF, notebooks, provenance) are
  assembled in ``<out>/.<name>.partial-<pid>-<run id>/<name>/``: hidden, and on the same file
  system as the destination so that it can be moved into place by a rename.
- **The swap** (:func:`swap_into_place`): on Linux the staged folder and the earlier report are
  exchanged in one atomic ``renameat2(RENAME_EXCHANGE)``, so that ``<out>/<name>`` is at every
  instant either the complete earlier report or the complete new one; the earlier one, now in
  the staging folder, is deleted after. Where the exchange is not available (another system or
  file system), the earlier report is renamed to ``<out>/.<name>.old-<pid>-<run id>``, the new
  one renamed into place and the old one deleted; SIGTERM and SIGINT are held back between the
  two renames, and if the process is killed between them the next run (:func:`clean_stale`)
  renames the orphaned ``.old-`` folder back into place.
- **Stale work** (:func:`clean_stale`): every run first removes the private folders and the
  ``.partial-``/``.old-``/``.batch-`` folders of runs whose process is no longer alive.
- **Signals** (:func:`terminating`): SIGTERM raises :class:`SystemExit` in the main thread while
  a render runs, so that its clean-up runs as it does for an error or Ctrl-C.
- **Output errors** (:func:`output_errors`): a file named as the output folder, a folder that
  cannot be written or a full disk end in a :class:`ReportError` naming the folder and the fix.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from .params import ReportError

__all__ = [
    "PREFIX",
    "private_folder",
    "clean_stale",
    "swap_into_place",
    "terminating",
    "output_errors",
    "pause_point",
    "strip_outputs",
    "pid_alive",
    "remove",
    "prepare_out_dir",
    "check_outside",
    "ACTIVE",
]

#: The name every private work folder starts with (then ``<pid>-``).
PREFIX = "dispro-"
MARKER = "dispro-owner.json"
_PRIVATE = re.compile(rf"^{re.escape(PREFIX)}(\d+)-")
_OWNED = re.compile(r"^\.(?:(?P<name>.+)\.(?P<kind>partial|old)|(?P<batch>batch))-(?P<pid>\d+)-[0-9a-f]{12}$")  # fmt: skip
#: Staging folders of dispro versions that did not record their process (removed once old).
_LEGACY = re.compile(r"^\.(?:.+\.partial|batch)-[0-9a-f]{12}$")
_LEGACY_AGE = 6 * 3600
#: The folders (names) this process is using: not stale even if a dead run had the same pid.
ACTIVE: set[str] = set()


def _owner_alive(pid: int, name: str) -> bool:
    """Whether the run that made folder ``name`` may still be running."""
    if pid == os.getpid():  # this process; or a dead one whose pid it was given
        return name in ACTIVE
    return pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:  # pragma: no cover - e.g. a pid out of range
        return False
    return True


def private_folder() -> Path:
    """A new private work folder (mode 0700) outside any output folder, with its owner marker."""
    base = Path(tempfile.gettempdir())
    folder = None
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
        ACTIVE.add(folder.name)
        (folder / MARKER).write_text(
            json.dumps({"pid": os.getpid(), "started": time.time()}), encoding="utf-8"
        )
    except OSError as exc:
        if folder is not None:
            remove(folder)
        raise _as_report_error(
            exc, base, "the private work folder (set TMPDIR to change it)"
        ) from None
    return folder


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def check_outside(private: Path, out_dir: Path) -> None:
    """Refuse a private work folder inside the output folder (``$TMPDIR`` set inside it)."""
    if _inside(private, out_dir):
        raise ReportError(
            f"the temporary folder {private.parent} is inside the output folder {out_dir}: "
            "the report's private work (record-level data) must not be written there; set "
            "TMPDIR to a folder outside it, or choose another -o/--out"
        )


def remove(path: Path) -> None:
    """Delete folder (or file) ``path`` if it is there, and forget it as this process's."""
    ACTIVE.discard(path.name)
    shutil.rmtree(path, ignore_errors=True)
    if path.exists() or path.is_symlink():  # a file, or a folder we could not empty
        with contextlib.suppress(OSError):
            path.unlink()


def clean_stale(out_dir: Path | None = None) -> list[Path]:
    """Remove the work of earlier runs whose process is gone; the paths removed or restored.

    Private folders (``$TMPDIR/dispro-<pid>-*``, this user's only) and, in ``out_dir``, the
    ``.<name>.partial-<pid>-*`` and ``.batch-<pid>-*`` folders of dead processes are deleted.
    A ``.<name>.old-<pid>-*`` folder (an earlier report moved aside by a swap that was killed)
    is renamed back to ``<name>`` if nothing is there, else deleted.
    """
    done: list[Path] = []
    with contextlib.suppress(OSError):
        for entry in Path(tempfile.gettempdir()).iterdir():
            m = _PRIVATE.match(entry.name)
            if not m or entry.is_symlink() or not entry.is_dir():
                continue
            with contextlib.suppress(OSError):
                if entry.stat().st_uid != os.getuid():
                    continue
                pid = int(m.group(1))
                with contextlib.suppress(OSError, ValueError, KeyError):
                    pid = int(json.loads((entry / MARKER).read_text())["pid"])
                if not _owner_alive(pid, entry.name):
                    remove(entry)
                    done.append(entry)
    if out_dir is None or not out_dir.is_dir():
        return done
    entries: list[Path] = []
    with contextlib.suppress(OSError):
        entries = sorted(out_dir.iterdir())
    for entry in entries:
        m = _OWNED.match(entry.name)
        if m is None:
            if _LEGACY.match(entry.name) and _age(entry) > _LEGACY_AGE:
                remove(entry)
                done.append(entry)
            continue
        if _owner_alive(int(m.group("pid")), entry.name):
            continue
        if m.group("kind") == "old" and not (out_dir / m.group("name")).exists():
            with contextlib.suppress(OSError):
                os.rename(entry, out_dir / m.group("name"))
                done.append(entry)
                continue
        remove(entry)
        done.append(entry)
    return done


def _age(path: Path) -> float:
    newest = 0.0
    with contextlib.suppress(OSError):
        for root, _, files in os.walk(path):
            newest = max(newest, os.stat(root).st_mtime)
            for f in files:
                with contextlib.suppress(OSError):
                    newest = max(newest, os.stat(os.path.join(root, f)).st_mtime)
    return time.time() - newest


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux ``renameat2``); False where not supported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]  # fmt: skip
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextlib.contextmanager
def _signals_held():
    """SIGTERM and SIGINT held back (delivered on leaving) in this thread."""
    held = {signal.SIGTERM, signal.SIGINT}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def swap_into_place(staged: Path, destination: Path, aside: Path) -> None:
    """Put the folder ``staged`` at ``destination``, keeping the earlier report there until the
    new one is in place (see the module notes); ``aside`` is the fallback's ``.old-`` name.

    On return the earlier report is at ``staged`` or ``aside`` (or nowhere, if there was none):
    the caller deletes it.
    """
    if not destination.exists() and not destination.is_symlink():
        os.rename(staged, destination)
        return
    if not destination.is_dir() or destination.is_symlink():
        raise ReportError(
            f"{destination} exists and is not a report folder: move or delete it, or choose "
            "another -o/--out"
        )
    pause_point("swap")
    if _exchange(staged, destination):
        return
    with _signals_held():
        os.rename(destination, aside)
        pause_point("swap-fallback")
        os.rename(staged, destination)


class _Terminated(SystemExit):
    """SIGTERM: the process is asked to end (exit status 143)."""


@contextlib.contextmanager
def terminating():
    """While the block runs in the main thread: SIGTERM raises :class:`SystemExit` (status 143)
    there, once, so that every ``finally`` runs; the previous handler is restored after.

    Nothing changes where SIGTERM is already handled (a handler other than the default) or
    outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return
    fired = []

    def handler(signum, frame):
        if not fired:  # a second SIGTERM during the clean-up does not interrupt it
            fired.append(signum)
            raise _Terminated(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _as_report_error(exc: OSError, folder: Path, what: str) -> ReportError:
    path = exc.filename or folder
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        how = f"there is no space left (or quota) on the disk holding {folder}: free some space, or choose another folder"  # fmt: skip
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        how = f"{folder} cannot be written to ({exc.strerror}): choose a folder you can write to, or change its permissions"  # fmt: skip
    elif exc.errno in (errno.EEXIST, errno.ENOTDIR) and Path(path).exists():
        how = f"{path} is a file, not a folder: give a folder (it is created if it does not exist)"  # fmt: skip
    else:
        how = f"{exc.strerror or exc} ({path})"
    return ReportError(f"cannot write {what} at {folder}: {how}")


@contextlib.contextmanager
def output_errors(folder: Path, what: str = "the report"):
    """An :class:`OSError` raised in the block becomes a :class:`ReportError` naming ``folder``."""
    try:
        yield
    except OSError as exc:
        raise _as_report_error(exc, folder, what) from None


def prepare_out_dir(out_dir: Path) -> Path:
    """``out_dir`` created if missing (with its parents), as an absolute path; a clear error if it
    is a file or cannot be written."""
    out_dir = Path(out_dir).absolute()
    for parent in (out_dir, *out_dir.parents):
        if parent.exists() and not parent.is_dir():
            raise ReportError(
                f"the output folder {out_dir} cannot be made: {parent} is a file, not a "
                "folder; give a folder with -o/--out (it is created if it does not exist)"
            )
        if parent.exists():
            break
    with output_errors(out_dir, "the output folder"):
        out_dir.mkdir(parents=True, exist_ok=True)
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise ReportError(
            f"the output folder {out_dir} cannot be written to (permission denied): choose a "
            "folder you can write to with -o/--out, or change its permissions"
        )
    return out_dir.resolve()


def pause_point(name: str) -> None:
    """For the tests that kill renders: sleep at the named point if ``DISPRO_TEST_PAUSE_AT``
    names it (``point`` or ``point,point``), after saying so on stderr."""
    wanted = os.environ.get("DISPRO_TEST_PAUSE_AT")
    if wanted and name in wanted.split(","):
        print(f"dispro: paused at {name}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("DISPRO_TEST_PAUSE_SECONDS", "60")))


def strip_outputs(notebook: dict) -> dict:
    """``notebook`` (nbformat JSON) with every cell output removed but error tracebacks."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = [
                o for o in cell.get("outputs", []) if o.get("output_type") == "error"
            ]
    return notebook
