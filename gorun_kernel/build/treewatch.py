"""inotify (Linux): one read tells that nothing changed in a module tree since its walk.

A re-run checks that the display package's tree (and the library's next to the
notebook) is as its last walk found it (localmods.TreeState). By stamps that is
a stat of every file; in the kernel each system call on the main thread lets its
other threads in, and the display package alone has some forty entries. A watch
on each directory, added before the walk reads it, hears of every change the
stamps would show (an edit, a new time, a file added, removed or renamed, a
directory gone) as an event; a read of the watch that finds none is one system
call, whatever the clock's ticks.

Only where that is exact: a file system of this machine (a remote one changes
without telling it), one device for the whole tree, no symbolic link among the
files (a change to a link's target is not an event of the link's directory),
few directories, no file with another name (a hard link: a change made through
it is an event of its own directory's). Writes through a shared memory map are
no event; an editor does not write a source file so. Anywhere else, or without
inotify (another system, its limits reached), the stamps are checked as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os

# The events that change what a walk would list (IN_ACCESS, IN_OPEN and
# IN_CLOSE_NOWRITE, a build reading the files, are not among them).
_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF = 0x400, 0x800
_IN_ONLYDIR = 0x01000000
MASK = (
    _IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE
    | _IN_DELETE | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_ONLYDIR
)  # fmt: skip
# File systems whose every change goes through this machine's kernel.
LOCAL_FS = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "f2fs", "zfs", "bcachefs", "overlay"}
)
MAX_DIRS = 64  # a larger tree is checked by its stamps (each watch is kernel memory)
ENABLED = True  # tests turn it off to check the stamps alone


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1  # noqa: B018 (present: Linux's C library)
        libc.inotify_add_watch  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


@functools.cache
def _mounts() -> dict[tuple[int, int], str]:
    """(major, minor) -> file system type, from /proc/self/mountinfo."""
    found: dict[tuple[int, int], str] = {}
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                head, _, tail = line.partition(" - ")
                fields, rest = head.split(), tail.split()
                if len(fields) >= 3 and rest and ":" in fields[2]:
                    major, minor = fields[2].split(":", 1)
                    found[(int(major), int(minor))] = rest[0]
    except (OSError, ValueError):
        return {}
    return found


def local_device(dev: int) -> bool:
    """Whether the file system of device `dev` is one of this machine's own."""
    return _mounts().get((os.major(dev), os.minor(dev))) in LOCAL_FS


class Watch:
    """An inotify descriptor watching the directories of one walk."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._dev: int | None = None  # the tree's device: every directory must be on it
        self._dirs = 0
        self.usable = True  # False: the walk met something a watch cannot vouch for

    @classmethod
    def start(cls) -> Watch | None:
        """A watch for a walk's directories; None without inotify."""
        libc = _libc()
        if not ENABLED or libc is None:
            return None
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        return cls(fd) if fd >= 0 else None

    def add(self, directory: str, dev: int | None) -> None:
        """Watch a directory (on device dev; None: it cannot be stat'ed), before the
        walk reads it."""
        if not self.usable:
            return
        self._dirs += 1
        if self._dev is None and dev is not None and local_device(dev):
            self._dev = dev
        libc = _libc()
        if dev is None or dev != self._dev or self._dirs > MAX_DIRS or libc is None:
            self.usable = False
            return
        if libc.inotify_add_watch(self._fd, os.fsencode(directory), MASK) < 0:
            self.usable = False  # (the limit on watches reached, say)

    def unusable(self) -> None:
        """The walk met something the watch cannot vouch for (a symbolic link)."""
        self.usable = False

    def quiet(self) -> bool:
        """Whether nothing happened in the tree since the watch began; once something
        did, never again (the tree is walked again, with a new watch)."""
        if self._fd < 0 or not self.usable:
            return False
        try:
            os.read(self._fd, 4096)
        except BlockingIOError:
            return True
        except OSError:
            pass
        self.close()
        return False

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # (at the interpreter's exit, os may be gone)
            self.close()
