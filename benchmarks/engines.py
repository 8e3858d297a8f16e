"""Which engine for type-aware completion: gopls over LSP, or our typeinfo helper?

    python benchmarks/engines.py --gopls PATH [--reps 50]

Both answer the same completion, in the same program (100 declarations, a
`strings.Builder` method completion inside main), the way a notebook asks: the
text changes before every request (a counter in a comment), so nothing can be
answered from a cache of the previous text. Measured: the first answer after
the process starts (for gopls: initialize, open, complete; for the helper: the
first request, which runs `go list -export`), then the median and 95th
percentile of `--reps` more, and the process's resident memory after them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.help import typeinfo

DECLS = "".join(
    f"// F{i} adds {i}.\nfunc F{i}(x int) int {{ return x + {i} }}\n\n"
    f"type T{i} struct{{ A{i} int; B string }}\n\n"
    for i in range(50)
)
PROGRAM = (
    'package main\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\n'
    + DECLS
    + "func main() {\n\t// request COUNTER\n\tvar b strings.Builder\n\tn := F7(3)\n"
    + "\tfmt.Println(n)\n\tb.Wr\n}\n"
)
# --web: the same, importing net/http and encoding/json too (more packages to load).
WEB = PROGRAM.replace('\t"fmt"\n', '\t"encoding/json"\n\t"fmt"\n\t"net/http"\n').replace(
    "\tfmt.Println(n)\n", "\tfmt.Println(n, http.StatusOK, json.Valid(nil))\n"
)


def cursor(text: str) -> tuple[int, int, int]:
    """(line, character, byte offset) just after `b.Wr`."""
    i = text.index("b.Wr") + len("b.Wr")
    line = text.count("\n", 0, i)
    return line, i - (text.rfind("\n", 0, i) + 1), len(text[:i].encode())


def rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return tuple(int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))  # type: ignore[return-value]


class LSP:
    def __init__(self, argv: list[str], root: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=root, env=env
        )
        self.next_id = 0

    def send(self, method: str, params: Any, notify: bool = False) -> Any:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if not notify:
            self.next_id += 1
            msg["id"] = self.next_id
        body = json.dumps(msg).encode()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        if notify:
            return None
        while True:
            length = 0
            while (line := self.proc.stdout.readline().strip()) != b"":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reply = json.loads(self.proc.stdout.read(length))
            if reply.get("id") == msg["id"] and "method" not in reply:
                return reply.get("result")
            if "method" in reply and "id" in reply:  # a request from the server
                self._answer(reply["id"])

    def _answer(self, rid: int) -> None:
        body = json.dumps({"jsonrpc": "2.0", "id": rid, "result": None}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()


def bench_gopls(gopls: str, root: Path, reps: int, cache: Path) -> tuple[float, list[float], tuple]:
    """gopls with its file cache in `cache` (GOPLSCACHE)."""
    uri = (root / "main.go").as_uri()
    start = time.perf_counter()
    # The same go as the helper's, first on PATH (not a wrapper script).
    env = find_toolchain().command_env(os.environ)
    lsp = LSP([gopls, "serve"], root, {**env, "GOPLSCACHE": str(cache)})
    lsp.send("initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {},
                            "workspaceFolders": [{"uri": root.as_uri(), "name": "w"}]})  # fmt: skip
    lsp.send("initialized", {}, notify=True)
    text = PROGRAM.replace("COUNTER", "0")
    lsp.send("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "go", "version": 1, "text": text}}, notify=True)  # fmt: skip
    line, char, _ = cursor(text)
    pos = {"textDocument": {"uri": uri}, "position": {"line": line, "character": char}}
    items = lsp.send("textDocument/completion", pos)
    first = time.perf_counter() - start
    names = [i["label"] for i in (items or {}).get("items", [])]
    assert "WriteString" in names, names
    times = []
    for i in range(reps):
        text = PROGRAM.replace("COUNTER", str(i + 1))
        t = time.perf_counter()
        lsp.send("textDocument/didChange", {"textDocument": {"uri": uri, "version": i + 2},
                 "contentChanges": [{"text": text}]}, notify=True)  # fmt: skip
        lsp.send("textDocument/completion", pos)
        times.append(time.perf_counter() - t)
    mem = rss_mb(lsp.proc.pid)
    lsp.send("shutdown", None)
    lsp.proc.kill()
    return first, times, mem


def bench_helper(root: Path, reps: int) -> tuple[float, list[float], tuple]:
    tc = find_toolchain()
    exe = typeinfo.helper_binary(tc)
    start = time.perf_counter()
    helper = typeinfo.Helper(exe, tc)
    times = []
    first = 0.0
    for i in range(reps + 1):
        text = PROGRAM.replace("COUNTER", str(i))
        t = time.perf_counter()
        reply = helper.ask(
            {"op": "complete", "dir": str(root), "modfile": "", "gen": "", "file": "main.go",
             "files": {"main.go": text}, "offset": cursor(text)[2]},
            timeout=60,
        )  # fmt: skip
        assert reply and "WriteString" in [c["name"] for c in reply["items"]], reply
        if i == 0:
            first = time.perf_counter() - start
        else:
            times.append(time.perf_counter() - t)
    mem = rss_mb(helper.pid)
    helper.close()
    return first, times, mem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gopls", help="a gopls binary (go install golang.org/x/tools/gopls@v)")
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--web", action="store_true", help="import net/http, encoding/json too")
    args = parser.parse_args()
    global PROGRAM
    if args.web:
        PROGRAM = WEB
    root = Path(tempfile.mkdtemp(prefix="gorun-engines-"))
    tc = find_toolchain()
    (root / "go.mod").write_text(f"module bench\n\ngo {tc.go_line()}\n")
    (root / "main.go").write_text(PROGRAM.replace("COUNTER", "0"))
    rows = [("typeinfo helper (ours)", *bench_helper(root, args.reps))]
    if args.gopls:
        version = subprocess.run([args.gopls, "version"], capture_output=True, text=True)
        name = f"gopls {version.stdout.split()[1] if version.stdout else '?'}"
        cache = root / "gopls-cache"  # empty: as on its first use
        rows.append((f"{name}, empty cache", *bench_gopls(args.gopls, root, args.reps, cache)))
        rows.append((f"{name}, cache warm", *bench_gopls(args.gopls, root, args.reps, cache)))
    shutil.rmtree(root, ignore_errors=True)
    print(f"{tc.version}; {args.reps} requests after the first, each after a change\n")
    print("| engine | first answer | p50 | p95 | RSS after (peak) |")
    print("| --- | --- | --- | --- | --- |")
    for name, first, times, (rss, hwm) in rows:
        q = statistics.quantiles(times, n=20)
        print(f"| {name} | {first * 1000:.0f} ms | {statistics.median(times) * 1000:.1f} ms | "
              f"{q[18] * 1000:.1f} ms | {rss:.0f} MB ({hwm:.0f} MB) |")  # fmt: skip


if __name__ == "__main__":
    main()
