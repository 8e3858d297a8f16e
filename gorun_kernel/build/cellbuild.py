"""The build stage for cells: composed files -> a program, in the session's scratch module.

`CellBuilder.build` writes a composed cell into the scratch module (only when
the executable cache misses), builds it with go, and learns on the way what
only the compiler knows about a snippet: a final call with no result cannot be
shown (run it as a statement), and an import whose package name was guessed
wrong is "not used" (drop it). It also lets cells import the Go module around
the notebook, and keeps the session's go.mod as it was when a build fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from gorun_kernel.build import embeds, localmods, rerun, vet
from gorun_kernel.build import gobuild as build
from gorun_kernel.build.direct import DirectBuilder
from gorun_kernel.build.gobuild import Builder, BuildJob, Built
from gorun_kernel.build.scratch import ScratchModule
from gorun_kernel.compose.compose import Composed, compose_snippet
from gorun_kernel.compose.stdlib import StdIndex
from gorun_kernel.errors import BuildError, CellError
from gorun_kernel.events import OutputSink
from gorun_kernel.paths import GOLIB_DIR

_UNUSED_IMPORT = re.compile(r'"([^"]+)" imported (?:as \S+ )?and not used')


class CellBuilder:
    """Builds cells in one session's scratch module."""

    def __init__(
        self,
        scratch: ScratchModule,
        builder: Builder,
        std: Callable[[], StdIndex],
    ) -> None:
        self.scratch = scratch
        self.builder = builder
        self.std = std
        # Composed program digest -> (show value, imports to drop) that built,
        # so a re-run skips the retries and finds its binary in the cache.
        self.retries: dict[str, tuple[bool, frozenset[str]]] = {}
        # Modules around the notebook that the scratch module requires and replaces.
        self.local: dict[str, localmods.LocalModule] = {}
        self.vetted = vet.VetMemory()
        # Edited cells by compile + link, once go has shown how (build/direct.py).
        self.direct = DirectBuilder(builder, scratch.path / ".gorun-direct")
        # Module trees, walked again only when a stamp changed.
        self.trees = localmods.Trees()
        # Unchanged cells' builds, checked rather than worked out again (rerun.py).
        self.memo = rerun.RerunMemo(builder.cache, scratch.go_mod, scratch.go_sum)

    def build(
        self,
        composed: Composed,
        flags: list[str],
        env: dict[str, str],
        cwd: str,
        gowork: str | None,
        sink: OutputSink | None = None,
        run_vet: bool = False,
        building: Callable[[], None] | None = None,
    ) -> tuple[Built, Composed]:
        """The program (or test binary) for a cell, and the cell as it finally built.

        A cell that fails to build leaves the session as it was, go.mod included.
        run_vet: go vet alongside the build; its findings come in the Built's log.
        building: called when the memo has no answer, before anything is built.
        """
        adds = self._local_to_add(composed.imports, cwd, gowork)
        memo_key = None if run_vet else rerun.memo_key(composed, flags, env, cwd, gowork)
        remembered = self._from_memo(memo_key, adds, composed)
        if remembered is not None:
            return remembered
        if building is not None:
            building()
        saved = (self.scratch.go_mod.read_text(), self.scratch.go_sum.read_text(), dict(self.local))
        try:
            self._add_local(adds, env)
            if composed.form in ("snippet", "test"):
                built, final = self._build_snippet(composed, flags, env, cwd, sink, run_vet)
            else:
                final = composed
                built = self._go_build(self.job(composed, flags, env, cwd), sink, run_vet, final)
        except BuildError:
            self.scratch.go_mod.write_text(saved[0])
            self.scratch.go_sum.write_text(saved[1])
            self.local = saved[2]
            raise
        if composed.subdir and not composed.own_module and not built.cached:
            # Modules a txtar cell fetched belong to the session, as for any cell.
            root = self.scratch.path / composed.subdir
            self.scratch.go_mod.write_text((root / "go.mod").read_text())
            self.scratch.go_sum.write_text((root / "go.sum").read_text())
        if memo_key is not None:
            self._remember(memo_key, final, built, flags, env, cwd)
        return built, final

    def remembered(
        self,
        composed: Composed,
        flags: list[str],
        env: dict[str, str],
        cwd: str,
        gowork: str | None,
    ) -> tuple[Built, Composed] | None:
        """What build() would answer from the rerun memo for this cell now, without
        building anything; None when it would build (headstart.py)."""
        memo_key = rerun.memo_key(composed, flags, env, cwd, gowork)
        adds = self._local_to_add(composed.imports, cwd, gowork)
        return self._from_memo(memo_key, adds, composed, count=False)

    def _from_memo(
        self,
        memo_key: rerun.MemoKey | None,
        adds: list[localmods.LocalModule],
        composed: Composed,
        count: bool = True,
    ) -> tuple[Built, Composed] | None:
        """The memo's answer for a cell, unless it has none to give: a build it leaves
        alone (no key), or a module to add (go.mod changes)."""
        if memo_key is None or adds:
            return None
        return self.memo.find(memo_key, composed, self.local, self.std, count=count)

    def _remember(
        self,
        memo_key: rerun.MemoKey,
        final: Composed,
        built: Built,
        flags: list[str],
        env: dict[str, str],
        cwd: str,
    ) -> None:
        """Note a build for the cell's next run, when it is a binary kept in the
        executable cache under the key the state noted here gives."""
        if built.exe is None or built.temporary or built.log or built.note:
            return
        go_mod, go_sum = self.memo.go_mod.read(), self.memo.go_sum.read()
        local = dict(self.local)
        trees = (self.trees.state(self._local_dirs()) if local else None, self._golib())
        job = self.job(final, flags, env, cwd)  # (its key reads the same trees, held)
        if job.key_parts is None or go_mod is None or go_sum is None:
            return
        exe_key = self.builder.key(job.key_parts(), job.env)
        if built.exe != self.builder.cache.dir / exe_key:
            return  # stored under another key: not what this state builds
        memo = rerun.Remembered(
            exe_key, final.show, final.drop, final.files, go_mod, go_sum, local, trees
        )
        self.memo.note(memo_key, memo)

    def _local_dirs(self) -> tuple[Path, ...]:
        return tuple(m.dir for m in self.local.values())

    @staticmethod
    def _golib() -> localmods.TreeState:
        return localmods.TREES.state((GOLIB_DIR,))

    def job(
        self, composed: Composed, flags: list[str], env: dict[str, str], cwd: str | None = None
    ) -> BuildJob:
        """The go build of a composed cell, keyed for the executable cache.

        cwd: the notebook's directory, where the cell's //go:embed files are.
        """
        subdir, files, own_mod = composed.subdir, composed.files, composed.own_module
        root = self.scratch.path / subdir
        embedded = embeds.find(files, cwd) if cwd is not None else []

        # The library next to the notebook, as it is now: walked once per build,
        # though the key is computed before and after it.
        local = None
        if self.local and not own_mod:
            local = self.trees.state(self._local_dirs()).files
        # The display package every session requires: a new gorun_kernel (or an
        # edit to it) must not run binaries built with the old one.
        golib = None if own_mod else self._golib().files
        # A program cell is built as `go run main.go` builds it: files named on go's
        # command line keep no build constraints (a `//go:build ignore` generator runs).
        packages = sorted(files) if composed.form == "program" else ["."]

        def key_parts() -> dict[str, object]:
            parts: dict[str, object] = {"kind": "cell", "files": files, "flags": flags}
            parts["packages"] = packages
            if embedded:
                parts["embedded"] = embeds.fingerprint(embedded, cwd or ".")
            if not own_mod:
                parts["go.mod"] = self.scratch.go_mod.read_text()
                parts["go.sum"] = self.scratch.go_sum.read_text()
                parts["local"] = local
                parts["golib"] = golib
            return parts

        def prepare() -> None:
            self.scratch.clear_sources()
            writes = dict(files)
            if subdir and not own_mod:
                for name in ("go.mod", "go.sum"):
                    writes[name] = (self.scratch.path / name).read_text()
            for path, text in writes.items():
                try:
                    self.scratch.write(f"{subdir}/{path}" if subdir else path, text)
                except OSError as e:
                    where = self.scratch.path / subdir / path
                    raise CellError(
                        f"cannot write the cell's file {path} (in {where.parent}): "
                        f"{e.strerror or e}"
                    ) from None
            try:
                embeds.place(embedded, cwd or ".", root)
            except OSError as e:
                raise CellError(f"cannot use {e.filename} for //go:embed: {e.strerror}") from None

        return BuildJob(
            command="test" if composed.form == "test" else "build",
            flags=flags,
            packages=packages,
            cwd=str(root),
            env=env,
            key_parts=key_parts if build.is_cacheable(flags) else None,
            prepare=prepare,
            table=composed.table,
            roots=[str(root), os.path.realpath(root)],
        )

    def _go_build(
        self, job: BuildJob, sink: OutputSink | None, run_vet: bool, composed: Composed
    ) -> Built:
        """One build; with run_vet, go vet runs alongside it, on the same files."""
        if not run_vet:
            return self.direct.build(job, composed.files, composed.own_module, sink)
        key = self.builder.key(job.key_parts(), job.env) if job.key_parts else None
        known = self.vetted.get(key)
        if known is None:
            assert job.prepare is not None
            job.prepare()
            go_mod = self.scratch.go_mod.read_text()
            running = vet.VetRun(self.builder, job.cwd, job.flags, job.env, job.packages)
            try:
                built = self.builder.build(replace(job, prepare=None), sink)
            except BaseException:
                running.stop()
                raise
            code, output = running.wait()
            if self.scratch.go_mod.read_text() != go_mod:
                code, output = running.again()  # the build added a module vet could not see
            known = vet.findings(code, output, job.table, job.roots)
            if job.key_parts is not None:
                self.vetted.put(self.builder.key(job.key_parts(), job.env), known)
        else:
            built = self.builder.build(job, sink)
        return replace(built, log="\n".join([built.log, *known]).strip()) if known else built

    def _build_snippet(
        self,
        composed: Composed,
        flags: list[str],
        env: dict[str, str],
        cwd: str,
        sink: OutputSink | None,
        run_vet: bool = False,
    ) -> tuple[Built, Composed]:
        """Build, retrying without the value or without unused imports as go says."""
        std = self.std()
        digest = hashlib.sha256(json.dumps(composed.files, sort_keys=True).encode()).hexdigest()
        first = (composed.show, composed.drop)
        if digest in self.retries:
            show, drop = self.retries[digest]
            composed = compose_snippet(composed, std, show, drop)
        while True:
            try:
                job = self.job(composed, flags, env, cwd)
                built = self._go_build(job, sink, run_vet, composed)
                break
            except BuildError as e:
                show, drop = composed.show, composed.drop
                if show and "(no value) used as value" in e.go_output:
                    show = False
                else:
                    assert composed.plan is not None
                    unused = set(_UNUSED_IMPORT.findall(e.go_output)) - drop
                    paths = {i.path for i in composed.plan.imports.values()}
                    if not unused or not unused <= paths:
                        raise
                    drop = drop | unused
                composed = compose_snippet(composed, std, show, drop)
        if (composed.show, composed.drop) != first:
            self.retries[digest] = (composed.show, composed.drop)
        return built, composed

    def _local_to_add(
        self, imports: list[str], cwd: str, gowork: str | None
    ) -> list[localmods.LocalModule]:
        """The modules around the notebook that the cell's imports need and the
        scratch module does not yet require."""
        if not imports:
            return []
        std = self.std()
        outside = [p for p in imports if p not in std.by_path and not p.startswith("gorun/")]
        if not outside:
            return []
        adds: dict[str, localmods.LocalModule] = {}
        for module in localmods.around(cwd, gowork):
            if module.path in self.local or module.path in adds:
                continue
            if any(module.provides(p) for p in outside):
                adds[module.path] = module
        return list(adds.values())

    def _add_local(self, modules: list[localmods.LocalModule], env: dict[str, str]) -> None:
        """Let the scratch module import the module around the notebook, once it is used."""
        for module in modules:
            edits = [
                f"-require={module.path}@{module.require_version()}",
                f"-replace={module.path}={module.dir}",
                *(f"-replace={old}={new}" for old, new in module.replaces),
            ]
            code, output = self.builder.go(["mod", "edit", *edits], str(self.scratch.path), env)
            if code != 0:
                raise BuildError(
                    f"cannot use the module {module.path} in {module.dir}",
                    output.strip().splitlines(),
                )
            self.local[module.path] = module

    def forget_modules(self) -> None:
        self.local.clear()
