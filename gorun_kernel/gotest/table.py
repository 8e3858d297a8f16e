"""A test run as notebook output: the result table (HTML, and text for consoles and nbval).

    FAIL  TestAdd        0.00s
          line 4: got 3, want 4
              t.Errorf("got %d, want 4", got)
    PASS  TestSub        0.00s
    SKIP    b_c          0.00s
          line 9: not now

    benchmark        runs      ns/op    B/op  allocs/op  vs previous run
    BenchmarkSum-2   5x2053   581.2 ±1%    0          0  -12.34% (p=0.008 n=5)

Subtests are indented under their test. A failing test shows its messages (at
cell lines, the line quoted); a passing one only with -v; a skipped one, why.
"""

from __future__ import annotations

import html
import statistics
from dataclasses import dataclass, field

from gorun_kernel.gotest.benchstat import Comparison
from gorun_kernel.gotest.report import Benchmark, Report, Row

# Every cell says its own alignment: a notebook's stylesheet may set one on td and th
# (JupyterLab's `.jp-RenderedHTMLCommon td {text-align: right}`), which beats what
# the table inherits to its cells; test names, messages and traces read from the left.
_LEFT = "text-align:left;vertical-align:top"
_RIGHT = "text-align:right;vertical-align:top"  # a benchmark's numbers line up
_COLORS = {"pass": "#1a7f37", "fail": "#cf222e", "skip": "#9a6700", "run": "#cf222e"}
_UNITS = ("ns/op", "B/op", "allocs/op")
_VS = "vs previous run"


@dataclass
class Table:
    """What the table shows; made by the run stage from a Report."""

    report: Report
    verbose: bool = False  # -v: every test's output, not only a failing one's
    comparisons: dict[str, list[Comparison]] = field(default_factory=dict)  # per benchmark
    coverage: str | None = None  # "coverage: 75.0% of statements (cell [2] 3/4)"
    show_notes: bool = True  # the report's notes, unless the cell's error says them

    def shown_output(self, row: Row) -> list[str]:
        if row.status == "pass" and not self.verbose:
            return []
        lines = list(row.output)
        if row.dropped:
            lines.append(f"[{row.dropped} more lines not shown]")
        return lines

    def bundle(self) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self.html()}

    # -- text ------------------------------------------------------------------

    def text(self) -> str:
        parts = []
        rows = [r for r in self.report.rows if r.kind != "Benchmark" or r.status != "pass"]
        if rows:
            width = max(len(_label(r)) for r in rows)
            lines = []
            for r in rows:
                time = _time(r.elapsed)
                lines.append(f"{r.status.upper():<4}  {_label(r):<{width}}  {time}".rstrip())
                lines.extend(f"      {line}" for line in self.shown_output(r))
            parts.append("\n".join(lines))
        if self.report.notes and self.show_notes:
            parts.append("\n".join(self.report.notes))
        if self.report.benchmarks:
            parts.append(_grid(self._bench_grid()))
        if self.report.package_output:
            parts.append("\n".join(self.report.package_output))
        if self.coverage:
            parts.append(self.coverage)
        return "\n\n".join(parts) if parts else "no tests to run"

    def _bench_grid(self) -> list[list[str]]:
        units = [u for u in _UNITS if any(u in b.units for b in self.report.benchmarks.values())]
        extra = sorted({u for b in self.report.benchmarks.values() for u in b.units} - set(_UNITS))
        head = ["benchmark", "runs", *units, *extra]
        if self.comparisons:
            head.append(_VS)
        grid = [head]
        for key, b in self.report.benchmarks.items():
            row = [_bench_name(b), _runs(b), *(_median(b, u) for u in [*units, *extra])]
            if self.comparisons:
                row.append(_change(self.comparisons.get(key, [])))
            grid.append(row)
        return grid

    # -- HTML ------------------------------------------------------------------

    def html(self) -> str:
        style = "border-collapse:collapse;font-family:monospace;font-size:90%;text-align:left"
        out = []
        rows = [r for r in self.report.rows if r.kind != "Benchmark" or r.status != "pass"]
        if rows:
            out.append(f'<table style="{style}">')
            for r in rows:
                color = _COLORS.get(r.status, "#000")
                pad = 1.2 * r.depth
                out.append(
                    f'<tr><td style="{_LEFT};color:{color};font-weight:bold;padding-right:1em">'
                    f"{r.status.upper()}</td>"
                    f'<td style="{_LEFT};padding-left:{pad:.1f}em">'
                    f"{html.escape(_label(r).strip())}</td>"
                    f'<td style="{_LEFT};color:#888;padding-left:1em">{_time(r.elapsed)}</td></tr>'
                )
                shown = self.shown_output(r)
                if shown:
                    text = html.escape("\n".join(shown))
                    out.append(
                        f'<tr><td style="{_LEFT}"></td><td colspan="2" style="{_LEFT}">'
                        f'<pre style="margin:0;text-align:left">{text}</pre></td></tr>'
                    )
            out.append("</table>")
        if self.report.notes and self.show_notes:
            text = html.escape("\n".join(self.report.notes))
            out.append(f'<pre style="margin:0.5em 0 0 0;color:{_COLORS["fail"]}">{text}</pre>')
        if self.report.benchmarks:
            grid = self._bench_grid()
            out.append(f'<table style="{style};margin-top:0.5em">')
            aligns = [_LEFT if i < 2 or h == _VS else _RIGHT for i, h in enumerate(grid[0])]
            heads = "".join(
                f'<th style="{a};padding-right:1em">{html.escape(h)}</th>'
                for a, h in zip(aligns, grid[0], strict=True)
            )
            out.append(f"<tr>{heads}</tr>")
            for row in grid[1:]:
                cells = "".join(
                    f'<td style="{a};padding-right:1em">{html.escape(c)}</td>'
                    for a, c in zip(aligns, row, strict=True)
                )
                out.append(f"<tr>{cells}</tr>")
            out.append("</table>")
        for block in (self.report.package_output, [self.coverage] if self.coverage else []):
            if block:
                out.append(
                    f'<pre style="margin:0.5em 0 0 0">{html.escape(chr(10).join(block))}</pre>'
                )
        return "\n".join(out) or "<pre>no tests to run</pre>"


def _label(row: Row) -> str:
    runs = f" ({row.runs} runs)" if row.runs > 1 else ""
    return "  " * row.depth + (row.short if row.depth else row.name) + runs


def _time(elapsed: float | None) -> str:
    return f"{elapsed:.2f}s" if elapsed is not None else ""


def _grid(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [
            c.ljust(w) if i < 2 or rows[0][i] == _VS else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _bench_name(b: Benchmark) -> str:
    return f"{b.name}-{b.procs}" if b.procs else b.name


def _runs(b: Benchmark) -> str:
    n = int(statistics.median(b.iterations)) if b.iterations else 0
    return f"{len(b.samples)}x{n}" if len(b.samples) > 1 else str(n)


def _median(b: Benchmark, unit: str) -> str:
    values = b.values(unit)
    if not values:
        return ""
    mid = statistics.median(values)
    text = f"{mid:.4g}" if mid < 1e6 else f"{mid:.0f}"
    if len(values) > 1 and mid:
        spread = max(abs(v - mid) for v in values) / abs(mid)
        text += f" ±{spread:.0%}"
    return text


def _change(comparisons: list[Comparison]) -> str:
    """ns/op's change always; the others' when their medians moved."""
    parts = []
    for c in comparisons:
        if c.unit == "ns/op":
            parts.append(c.words())
        elif c.before != c.after:
            parts.append(f"{c.unit} {c.words()}")
    return "; ".join(parts)
