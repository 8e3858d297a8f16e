"""Where things are: the files shipped inside this package and the user's cache directory.

A leaf every stage may import: compose needs the display module's path, build and help need
the Go sources, frontends need the logos.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gorun_kernel import config

PACKAGE_DIR = Path(__file__).resolve().parent
# The Go package for the notebook (display, display/cache), shipped inside this
# Python package: every session's module requires it from there, offline.
DISPLAY_MODULE = "gorun.dev/display"
GOLIB_DIR = PACKAGE_DIR / "golib"
TYPEINFO_SOURCE = PACKAGE_DIR / "gohelpers" / "typeinfo"
RESOURCES_DIR = PACKAGE_DIR / "resources"


def cache_root() -> Path:
    """$GORUN_CACHE, else the platform's user cache directory + gorun_kernel."""
    explicit = config.directory(config.CACHE)  # relative: the directory at start
    if explicit is not None:
        return explicit
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "gorun_kernel"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gorun_kernel"
