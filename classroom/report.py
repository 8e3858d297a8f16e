"""The load test's figures: what it prints, and the same as JSON."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from .exercise import BAD_STUDENT_CELL, FEATURE_ISSUES
from .student import CellRun

MB = 1024 * 1024


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank: a value that was measured."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Report:
    students: int
    think: float
    shared_cache: bool
    features: list[str]
    bad_student: bool
    runs: list[CellRun]
    broken: list[str]  # students who never got to their cells, and why
    server_seconds: list[float]
    wall: float
    memory: dict[str, dict[str, int]]  # peak RSS per student and kind; "" = Hub + proxy
    left_processes: list[str] = field(default_factory=list)
    left_scratch: list[str] = field(default_factory=list)
    left_containers: list[str] = field(default_factory=list)
    containers: str = ""  # how the servers ran in containers (image, limits), or ""
    warmed: str = ""
    hub_log: str = ""  # a copy of the Hub's log, kept when something failed

    @property
    def failures(self) -> list[str]:
        return self.broken + [f"{r.cell.name}: {r.problem}" for r in self.runs if r.problem]

    @property
    def passed(self) -> bool:
        return not (
            self.failures or self.left_processes or self.left_scratch or self.left_containers
        )

    def _student_mb(self, kind: str) -> list[float]:
        return [kinds.get(kind, 0) / MB for user, kinds in self.memory.items() if user]

    def _cells_span(self) -> float:
        """From the first cell sent to the last cell done, all students."""
        if not self.runs:
            return 0.0
        return max(r.started + r.seconds for r in self.runs) - min(r.started for r in self.runs)

    def summary(self) -> dict:
        latencies = [r.seconds for r in self.runs]
        span = self._cells_span()
        memory = {
            kind: round(statistics.median(self._student_mb(kind))) if self._student_mb(kind) else 0
            for kind in ("total", "server", "kernel", "program")
        }
        return {
            "students": self.students,
            "features": self.features,
            "cells_run": len(self.runs),
            "unexpected_failures": len(self.failures),
            "failures": self.failures,
            "latency_p50_s": round(percentile(latencies, 50), 3),
            "latency_p95_s": round(percentile(latencies, 95), 3),
            "cells_per_minute": round(len(self.runs) / span * 60, 1) if span else 0,
            "cells_span_s": round(span, 1),
            "wall_s": round(self.wall, 1),
            "server_start_p50_s": round(percentile(self.server_seconds, 50), 2),
            "server_start_max_s": round(max(self.server_seconds, default=0), 2),
            "memory_per_student_median_mb": memory["total"],
            "memory_per_student_max_mb": round(max(self._student_mb("total"), default=0)),
            "memory_median_by_kind_mb": {k: v for k, v in memory.items() if k != "total"},
            "hub_and_proxy_mb": round(self.memory.get("", {}).get("total", 0) / MB),
            "skipped": self.skipped(),
            "processes_left": len(self.left_processes),
            "scratch_dirs_left": len(self.left_scratch),
            "containers": self.containers,
            "containers_left": len(self.left_containers),
        }

    def skipped(self) -> list[str]:
        missing = [
            f"{FEATURE_ISSUES[f]}: the installed gorun_kernel does not have it yet"
            for f in sorted(FEATURE_ISSUES)
            if f not in self.features
        ]
        if "memory" in self.features and not self.bad_student:
            missing.append("the bad student (--no-bad-student)")
        return missing

    def _bad_student(self) -> list[str]:
        """What the bad student's program was told, and whether the others carried on."""
        bad = [r for r in self.runs if r.cell.name == BAD_STUDENT_CELL.name]
        others = [r for r in self.runs if r.cell.name != BAD_STUDENT_CELL.name]
        return [
            f"bad student: {r.ename}: {r.evalue} (after {r.seconds:.2f} s); the others' "
            f"{len(others)} cells: {sum(1 for o in others if o.problem)} unexpected failures"
            for r in bad
        ]

    def _by_cell(self) -> list[str]:
        names = list(dict.fromkeys(r.cell.name for r in self.runs))
        lines = []
        for name in names:
            times = [r.seconds for r in self.runs if r.cell.name == name]
            lines.append(
                f"  {name:<22} {len(times):>4} runs   p50 {percentile(times, 50):6.2f} s"
                f"   p95 {percentile(times, 95):6.2f} s"
            )
        return lines

    def text(self) -> str:
        s = self.summary()
        cache = f"shared, warmed ({self.warmed})" if self.shared_cache else "none (cold)"
        lines = [
            f"classroom load test: {self.students} students, think time {self.think:g} s, "
            f"shared build cache: {cache}",
            *([f"servers: {self.containers}"] if self.containers else []),
            f"cells run: {s['cells_run']}    unexpected failures: {s['unexpected_failures']}",
            *[f"  FAILED {f}" for f in self.failures],
            f"cell latency: p50 {s['latency_p50_s']:.2f} s, p95 {s['latency_p95_s']:.2f} s "
            "(execute_request to idle, through the proxy)",
            *self._by_cell(),
            f"cells per minute held: {s['cells_per_minute']} (whole class, think time "
            f"included, over the {s['cells_span_s']} s from the first cell to the last; "
            f"all of the run: {s['wall_s']} s)",
            f"server start (POST to ready): p50 {s['server_start_p50_s']} s, "
            f"max {s['server_start_max_s']} s",
            "memory per student (server + kernel + programs, peak RSS summed from /proc): "
            f"median {s['memory_per_student_median_mb']} MB, max "
            f"{s['memory_per_student_max_mb']} MB (median peaks: "
            + ", ".join(f"{k} {v} MB" for k, v in s["memory_median_by_kind_mb"].items())
            + f"); Hub + proxy {s['hub_and_proxy_mb']} MB",
            *self._bad_student(),
            *[f"skipped: {x}" for x in s["skipped"]],
            f"after the Hub stopped: {s['processes_left']} processes left, "
            f"{s['scratch_dirs_left']} scratch directories left"
            + (f", {s['containers_left']} containers left" if self.containers else ""),
            *[f"  LEFT {p}" for p in self.left_processes + self.left_scratch],
            *[f"  LEFT container {c}" for c in self.left_containers],
        ]
        if self.hub_log:
            lines.append(f"the Hub's log (servers and kernels included): {self.hub_log}")
        return "\n".join(lines)
