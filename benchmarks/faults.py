"""Figures for the fault table of docs/faults.md (issue 10, items 1-8 and 19), from a real kernel.

    python benchmarks/faults.py

Each probe is what a user (or an adversarial program) does; it prints what
happened and how long it took, measured from the request (or the interrupt)
to the kernel's reply.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from kernel_client import execute, execute_and_interrupt, start


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(kc, code: str, **kw):
    start = time.perf_counter()
    r = execute(kc, code, **kw)
    return r, time.perf_counter() - start


def reply(r) -> str:
    c = r.reply["content"]
    return c["status"] if c["status"] == "ok" else f"{c['ename']}: {c['evalue']}"


def gone_within(pid: int, bound: float = 5.0) -> float | None:
    start = time.perf_counter()
    while time.perf_counter() - start < bound:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return time.perf_counter() - start
        if state in ("Z", "X"):
            return time.perf_counter() - start
        time.sleep(0.005)
    return None


def probes(km, kc, work: Path) -> None:
    pid = km.provisioner.process.pid
    execute(kc, 'fmt.Println("warm")')

    before = rss_mb(pid)
    r, t = timed(
        kc,
        "%%gorun --stdin-file /dev/zero\nbuf := make([]byte, 1<<20)\n"
        "n, _ := io.ReadFull(os.Stdin, buf)\nfmt.Println(n)",
    )
    print(f"1 /dev/zero: {reply(r)} {r.stream().strip()} in {t:.2f}s; "
          f"kernel RSS +{rss_mb(pid) - before:.1f} MB")  # fmt: skip

    fifo = work / "in.fifo"
    os.mkfifo(fifo)
    code = f'%%gorun --stdin-file {fifo}\nfmt.Println("ready")\nio.ReadAll(os.Stdin)'
    r, _, took = execute_and_interrupt(km, kc, code, "ready", timeout=60)
    print(f"2 FIFO without a writer, interrupted: {reply(r)} {took:.2f}s after the interrupt")

    size = 64 << 20

    def write() -> None:
        with open(fifo, "wb") as f:
            for _ in range(size >> 20):
                f.write(b"x" * (1 << 20))

    threading.Thread(target=write, daemon=True).start()
    peak = rss_mb(pid, "VmHWM")
    r, t = timed(kc, f"%%gorun --stdin-file {fifo}\nn, _ := io.Copy(io.Discard, os.Stdin)\nn")
    print(f"3 64 MB through a FIFO: {reply(r)} value {r.value} in {t:.2f}s; "
          f"kernel peak +{rss_mb(pid, 'VmHWM') - peak:.1f} MB")  # fmt: skip

    peak = rss_mb(pid, "VmHWM")
    r, t = timed(
        kc,
        'fd, _ := strconv.Atoi(os.Getenv("GORUN_VALUE_FD"))\nf := os.NewFile(uintptr(fd), "v")\n'
        "chunk := make([]byte, 1<<20)\nfor i := 0; i < 400; i++ { f.Write(chunk) }\n1",
    )
    print(f"4 400 MB of garbage to the value's pipe: {reply(r)} in {t:.2f}s; "
          f"kernel peak +{rss_mb(pid, 'VmHWM') - peak:.1f} MB")  # fmt: skip

    r, t = timed(kc, 'strings.Repeat("x", 64<<20)')
    print(f"4 64 MB final value: {reply(r)} shown {len(r.value or ''):,} chars in {t:.2f}s; "
          f"note: {r.stream('stderr').strip()}")  # fmt: skip

    r, t = timed(
        kc,
        "%%gorun --memory 256MiB\nvar keep [][]byte\nfor { b := make([]byte, 16<<20)\n"
        "for i := range b { b[i] = 1 }\nkeep = append(keep, b) }",
    )
    print(f"5 unbounded allocation under --memory 256MiB: {reply(r)} in {t:.2f}s")

    r, t = timed(kc, "(" * 200_000, timeout=120)
    print(f"6 200,000 '(': {reply(r)} in {t:.2f}s")
    r, t = timed(kc, "x := 1\n" + "_ = x\n" * 200_000, timeout=120)
    print(f"6 a 1.2 MB cell: {reply(r)[:70]}... in {t:.2f}s")

    code = "".join(f"func f{i}(a, b int) int {{ return a*b + {i} }}\n" for i in range(20_000))
    msg_id = kc.execute(code)
    while True:
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            break
    sent = time.perf_counter()
    km.interrupt_kernel()
    reply_msg = kc.get_shell_msg(timeout=120)
    while reply_msg["parent_header"].get("msg_id") != msg_id:
        reply_msg = kc.get_shell_msg(timeout=120)
    print(f"6 interrupt while a 1 MB cell is read: {reply_msg['content'].get('ename')} "
          f"{time.perf_counter() - sent:.2f}s after the interrupt")  # fmt: skip

    escape = (
        'c := exec.Command("sleep", "1003")\nc.SysProcAttr = &syscall.SysProcAttr{Setsid: true}\n'
        'c.Start()\nfmt.Println("escaped", c.Process.Pid)\n'
    )
    r, t = timed(kc, escape)
    child = int(r.stream().split()[1])
    print(f"7 setsid child, program exits: {reply(r)} in {t:.2f}s; "
          f"child gone {gone_within(child):.3f}s after the reply")  # fmt: skip
    r, (child,), took = execute_and_interrupt(km, kc, escape + "time.Sleep(time.Hour)", "escaped")
    print(f"7 setsid child, interrupted: {reply(r)} {took:.2f}s after the interrupt; "
          f"child gone {gone_within(child):.3f}s after the reply")  # fmt: skip

    code = (
        "for i := 1; i <= 3; i++ {\n"
        'fmt.Fprintf(os.Stderr, "\\rat %d", time.Now().UnixNano())\n'
        "time.Sleep(300 * time.Millisecond) }"
    )
    lags = []

    def on_message(kind: str, content: dict) -> None:
        if kind == "stream" and content["name"] == "stderr":
            sent = int(content["text"].split()[-1])
            lags.append(time.time_ns() - sent)

    execute(kc, code, on_message=on_message)
    print(f"19 partial stderr lines: {len(lags)} arrived while running, "
          f"{max(lags) / 1e6:.0f} ms after being written at most")  # fmt: skip


def shutdowns(n: int = 20) -> None:
    took = []
    for _ in range(n):
        km, kc = start()
        proc = km.provisioner.process
        kc.stop_channels()
        t = time.perf_counter()
        km.shutdown_kernel(now=False)
        proc.wait()
        took.append(time.perf_counter() - t)
    print(f"8 {n} shutdowns: median {statistics.median(took):.2f}s, "
          f"min {min(took):.2f}s, max {max(took):.2f}s")  # fmt: skip


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="gorun-faults-"))
    km, kc = start()
    try:
        probes(km, kc, work)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        shutil.rmtree(work, ignore_errors=True)
    shutdowns()


if __name__ == "__main__":
    main()
