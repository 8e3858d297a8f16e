"""How often the fast path builds an edited cell, and why go builds the others.

    python benchmarks/fastpath_share.py [--every 5] [--out benchmarks/FASTPATH_SHARE.md]

Two sources of cells, each cell new to every cache of ours (a private GORUN_CACHE):

- the shipped Go notebooks (notebooks/**/*.ipynb with the gorun kernel), run
  top to bottom in a real kernel twice, with the fast path on and off
  (GORUN_DIRECT_BUILD=0); each cell's `gorun_timing` says how it was built, and
  the two runs' outputs must be the same (the status lines' figures aside);
- Go's own test suite's `// run` programs ($GOROOT/test, fixedbugs, typeparam;
  every Nth), each a program cell of one in-process engine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from jupyter_client.manager import KernelManager
from tables import report

from gorun_kernel.build.toolchain import find_toolchain
from gorun_kernel.cmdline import parse
from gorun_kernel.engine import Engine
from gorun_kernel.events import BaseSink
from gorun_kernel.outcome import RunOptions

ROOT = Path(__file__).resolve().parent.parent
# What differs between two runs of the same notebook whoever builds: times, pids, a
# job's age, the race detector's addresses and goroutine numbers.
FIGURES = re.compile(
    r"(build|run) \d+\.\d\d s|cached|\d+(\.\d+)? ?(ms|s)\b|pid \d+|0x[0-9a-f]+|"
    r"[Gg]oroutine \d+|\+0x[0-9a-f]+"
)


def run_notebook(path: Path, direct: bool) -> list[tuple[str, dict[str, object]]]:
    """(output text, gorun_timing) of each code cell, in a new kernel in the notebook's folder."""
    env = {**os.environ, "GORUN_CACHE": tempfile.mkdtemp(prefix="gorun-share-")}
    env["GORUN_DIRECT_BUILD"] = "1" if direct else "0"
    km = KernelManager(kernel_name="gorun")
    km.start_kernel(cwd=str(path.parent), env=env)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    cells = []
    try:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            msg_id = kc.execute("".join(cell["source"]), allow_stdin=False)
            texts = []
            while True:
                msg = kc.get_iopub_msg(timeout=300)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    texts.append(content["text"])
                elif kind in ("display_data", "execute_result"):
                    texts.append(content["data"].get("text/plain", ""))
                elif kind == "error":
                    texts.append(f"{content['ename']}: {content['evalue']}")
                elif kind == "status" and content["execution_state"] == "idle":
                    break
            reply = None
            while reply is None or reply["parent_header"].get("msg_id") != msg_id:
                reply = kc.get_shell_msg(timeout=60)
            timing = reply["metadata"].get("gorun_timing") or {}
            cells.append((FIGURES.sub("#", "".join(texts)), timing))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return cells


class Quiet(BaseSink):
    def stdout(self, text: str) -> None:
        pass

    def stderr(self, text: str) -> None:
        pass


def go_test_programs(every: int) -> list[Path]:
    goroot = Path(find_toolchain().goroot) / "test"
    found = sorted(
        p
        for d in ("", "fixedbugs", "typeparam")
        for p in (goroot / d).glob("*.go")
        if p.read_text(errors="replace").split("\n", 1)[0] == "// run"
    )
    return found[::every]


def share_line(counts: Counter[str]) -> str:
    total = sum(counts.values())
    direct = counts["direct"]
    why = ", ".join(f"{n} {reason}" for reason, n in counts.most_common() if reason != "direct")
    return f"{direct} of {total} ({100 * direct / max(total, 1):.0f}%)" + (
        f"; go built {total - direct}: {why}" if why else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=int, default=5, help="every Nth of Go's run programs")
    parser.add_argument("--out")
    parser.add_argument("--notebooks-only", action="store_true")
    args = parser.parse_args()
    lines = []

    notebooks = Counter[str]()
    differ = []
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        meta = json.loads(path.read_text())["metadata"]
        if meta.get("kernelspec", {}).get("name") != "gorun" or "checkpoint" in str(path):
            continue
        on, off = run_notebook(path, True), run_notebook(path, False)
        for i, ((text_on, timing), (text_off, _)) in enumerate(zip(on, off, strict=True)):
            if timing.get("built_by") in ("direct", "go"):
                # go without a reason: builds that are not a cell's (a %gorun of a
                # package, --vet's build beside vet).
                why = timing.get("fallback") or timing["built_by"]
                notebooks["--vet or a package run" if why == "go" else why] += 1
            if text_on != text_off:
                differ.append(f"{path.relative_to(ROOT)} cell {i}")
        print(path.name, share_line(notebooks), file=sys.stderr)
    lines.append(f"- shipped notebooks, edited (built) cells: {share_line(notebooks)}")
    lines.append(
        "- their outputs with the fast path on and off: "
        + ("the same in every cell" if not differ else "DIFFER in " + ", ".join(differ))
    )

    if args.notebooks_only:
        print("\n".join(lines))
        return
    os.environ["GORUN_CACHE"] = tempfile.mkdtemp(prefix="gorun-share-")
    engine = Engine(find_toolchain())
    suite = Counter[str]()
    failed = 0
    programs = go_test_programs(args.every)
    for n, program in enumerate(programs):
        outcome = engine.run_cell(
            program.read_text(), parse([]), Quiet(), RunOptions(tempfile.gettempdir())
        )
        if outcome.built_by in ("direct", "go"):
            suite[outcome.fallback or outcome.built_by] += 1
        elif outcome.error is not None and outcome.built_by is None:
            failed += 1  # did not build (or was refused): not an edited cell that ran
        if n % 20 == 0:
            print(f"{n}/{len(programs)}", share_line(suite), file=sys.stderr)
    engine.close()
    lines.append(
        f"- Go's test suite, {len(programs)} `// run` programs (every {args.every}th) as "
        f"program cells: {share_line(suite)}"
        + (f" ({failed} did not build or were refused as cells)" if failed else "")
    )
    report(lines, args.out)


if __name__ == "__main__":
    main()
