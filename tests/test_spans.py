"""gorun_kernel/spans.py: a cell's instants, one JSON line a cell, only under GORUN_SPANS."""

from __future__ import annotations

import json

from gorun_kernel import spans


def test_marks_go_to_the_file_as_one_line_a_cell(tmp_path, monkeypatch):
    path = tmp_path / "spans.jsonl"
    monkeypatch.setattr(spans, "PATH", str(path))
    spans.mark("request")
    spans.mark("replied")
    spans.flush()
    spans.mark("request")
    spans.flush(".supervisor")
    (first,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert [name for name, _ in first] == ["request", "replied"]
    assert first[0][1] <= first[1][1]
    assert [n for n, _ in json.loads((tmp_path / "spans.jsonl.supervisor").read_text())] == [
        "request"
    ]


def test_unset_nothing_is_kept_or_written(tmp_path, monkeypatch):
    monkeypatch.setattr(spans, "PATH", "")
    monkeypatch.chdir(tmp_path)
    spans.mark("request")
    spans.flush()
    assert spans._marks == []
    assert list(tmp_path.iterdir()) == []
