"""A Go module proxy on disk (GOPROXY=file://...), built by the tests.

The layout is the GOPROXY protocol's (`go help goproxy`): for each module,
@v/list, and for each version .info, .mod and .zip. The go command reads it
like any proxy, so the hermetic tests exercise real module fetching.
"""

from __future__ import annotations

import json
import socket
import zipfile
from pathlib import Path

HELLO_MAIN = """package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("hello from %(version)s", os.Args[1:])
}
"""

GREET_LIB = """package greet

// Hello greets name.
func Hello(name string) string { return "%(greeting)s, " + name + "!" }
"""

# module path -> version -> {file name: content}
MODULES: dict[str, dict[str, dict[str, str]]] = {
    "example.com/hello": {
        v: {
            "go.mod": "module example.com/hello\n\ngo 1.21\n",
            "main.go": HELLO_MAIN % {"version": v},
        }
        for v in ("v1.0.0", "v1.1.0")
    },
    "example.com/greet": {
        "v1.0.0": {
            "go.mod": "module example.com/greet\n\ngo 1.21\n",
            "greet.go": GREET_LIB % {"greeting": "Hello"},
        },
        "v1.2.0": {
            "go.mod": "module example.com/greet\n\ngo 1.21\n",
            "greet.go": GREET_LIB % {"greeting": "Howdy"},
        },
    },
}


def build_proxy(root: Path) -> str:
    """Write the proxy under root; returns the GOPROXY value for it."""
    for module, versions in MODULES.items():
        vdir = root / module / "@v"
        vdir.mkdir(parents=True, exist_ok=True)
        (vdir / "list").write_text("".join(f"{v}\n" for v in versions))
        for version, files in versions.items():
            info = {"Version": version, "Time": "2024-01-01T00:00:00Z"}
            (vdir / f"{version}.info").write_text(json.dumps(info))
            (vdir / f"{version}.mod").write_text(files["go.mod"])
            with zipfile.ZipFile(vdir / f"{version}.zip", "w") as z:
                for name, content in files.items():
                    z.writestr(f"{module}@{version}/{name}", content)
    return root.as_uri()


def network_available(host: str = "proxy.golang.org") -> bool:
    """Whether the real Go module proxy answers (tests marked `network` skip without it).
    Here, not in conftest.py: test modules import it, and with several conftest.py files
    in the tree `from conftest import` may find another one."""
    try:
        with socket.create_connection((host, 443), timeout=3):
            return True
    except OSError:
        return False
