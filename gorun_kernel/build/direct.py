"""The fast path for an edited cell: Go's compiler and linker called directly.

An edited hello cell spends ~15 ms in the compiler, ~90 ms in the linker and
50-70 ms in the go command's own work around them (the module graph, hashing
inputs, the action graph). Bazel's rules_go skips that last part by driving
`compile` and `link` itself; so does this module, for the cell's own package
only. go stays the source of truth for everything else: the first build of a
cell with a given import set is an ordinary `go build`, after which
`go build -n` (same flags, environment and files) tells us the recipe go would
follow: the importcfg of dependency archives in go's build cache, the exact
compile flags (-p, -lang, -complete, -trimpath, -c...), the link's importcfg
with go's modinfo (what debug.ReadBuildInfo reads) and the exact link flags.
The next edit with the same import set, file names, flags, environment, go.mod
and libraries runs those two commands on the new source, nothing else.

Whenever the recipe could differ from what go would do, go builds: a new import
set, cgo, //go:embed, build constraints, a txtar cell with its own module or
packages, a test cell, go vet, flags such as -race/-cover/-asan/-msan, a recipe
with steps other than compile and link (go would compile a dependency, run
cgo, cover or the assembler), a dependency archive go has since trimmed from
its cache, and a compile or link that fails or prints anything (go's own
messages are then shown, exactly as before).

What differs from go's binary: the build ID (go hashes the action; we hash the
sources and the recipe), which no program reads except by parsing its own file.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shlex
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from tree_sitter import Node

from gorun_kernel import config
from gorun_kernel.build.gobuild import Builder, BuildJob, Built, flag_names
from gorun_kernel.compose.parse import _parser
from gorun_kernel.errors import Interrupted
from gorun_kernel.events import OutputSink
from gorun_kernel.proc.process import ProcessSpec, run_process

# Build flags whose work is more than compile + link of the main package (or that
# the fast path is asked never to reproduce): go builds.
GO_ONLY_FLAGS = {"race", "cover", "coverpkg", "covermode", "asan", "msan", "linkshared"}
GO_ONLY_FLAGS |= {"buildmode", "toolexec", "pgo", "overlay", "modfile", "a", "n", "x", "work"}
_CONSTRAINT = re.compile(rb"^\s*//\s*(go:build|\+build)\b", re.M)
_EMBED = re.compile(rb"^\s*//go:embed\b", re.M)
# go turns a main package's //go:debug lines into the link's GODEBUG default.
_GODEBUG = re.compile(rb"^\s*//go:debug\b", re.M)
_HEREDOC = re.compile(r"^cat >(\$WORK/b001/importcfg(?:\.link)?) << 'EOF'")
# In the importcfg without an import (runtime), or imported without an entry (unsafe).
IMPLICIT = frozenset({"runtime", "unsafe"})
# Reasons a cell was built by go, for the share of edited cells the fast path takes.
DIRECT = "direct"
COMPILE_FAILED = "the compiler failed (go says why)"
LINK_FAILED = "the linker failed (go says why)"
LINK_SPOKE = "the linker printed something (go shows it)"
_TOOL_FAILED = (COMPILE_FAILED, LINK_FAILED)


@dataclass(frozen=True)
class Recipe:
    """What `go build -n` would run for the cell's package, with $WORK left in."""

    cwd: str  # where go runs the compiler (the package's directory)
    files: tuple[str, ...]  # the source files on the compiler's command line
    imports: frozenset[str]  # the package's imports (the importcfg's entries)
    importcfg: str
    compile: tuple[str, ...]
    link_importcfg: str
    link_env: tuple[tuple[str, str], ...]  # GOROOT='...' before the linker
    link: tuple[str, ...]
    name: str  # the program's file name (go's -o directory/<name>)
    header: str  # "# gorun": go's line above the compiler's messages

    def archives(self) -> tuple[str, ...]:
        """The dependency archives in go's build cache that the recipe names, once each."""
        return _archives(self.importcfg, self.link_importcfg)


@functools.lru_cache(maxsize=64)
def _archives(*importcfgs: str) -> tuple[str, ...]:
    # Read once per recipe, not per cell: a net/http program's recipe names ~190.
    return tuple(
        dict.fromkeys(
            line.split("=", 1)[1]
            for text in importcfgs
            for line in text.splitlines()
            if line.startswith("packagefile ") and "$WORK" not in line
        )
    )


def parse_plan(text: str) -> Recipe | None:
    """The recipe in `go build -n`'s output; None if it is more than compile + link."""
    lines = text.splitlines()
    files: dict[str, str] = {}
    commands: list[tuple[str, list[str]]] = []  # (cwd, argv)
    header = ""
    cwd = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line or line == "#":
            continue
        if line.startswith("# "):
            header = header or line
            continue
        heredoc = _HEREDOC.match(line)
        if heredoc:
            body = []
            while i < len(lines) and lines[i] != "EOF":
                body.append(lines[i])
                i += 1
            i += 1
            files[heredoc.group(1)] = "\n".join(body) + "\n"
            continue
        try:
            argv = shlex.split(line, comments=True)
        except ValueError:
            return None
        if not argv:
            continue
        if argv[0] == "cd" and len(argv) == 2:
            cwd = argv[1] if argv[1] != "." else cwd
            continue
        if argv[0] in ("mkdir", "rm") or argv[:3] == ["go", "tool", "buildid"]:
            continue
        commands.append((cwd, argv))
    if len(commands) != 3 or set(files) != {"$WORK/b001/importcfg", "$WORK/b001/importcfg.link"}:
        return None
    (ccwd, compile_argv), (_, link_argv), (_, mv) = commands
    env = []
    while link_argv and re.match(r"^[A-Z_][A-Z0-9_]*=", link_argv[0]):
        k, _, v = link_argv.pop(0).partition("=")
        env.append((k, v))
    if (
        not compile_argv[0].endswith(f"{os.sep}compile")
        or not link_argv
        or not link_argv[0].endswith(f"{os.sep}link")
        or mv[0] != "mv"
        or len(mv) != 3
        or "-pack" not in compile_argv
        or not _links_into(link_argv, "$WORK/b001/exe/")
    ):
        return None
    if any("$WORK" in a and not a.startswith("$WORK/b001") for a in compile_argv + link_argv):
        return None
    if "b002" in text:  # a dependency go would build first
        return None
    sources = tuple(compile_argv[compile_argv.index("-pack") + 1 :])
    if not sources or not all(s.endswith(".go") for s in sources):
        return None
    imports = frozenset(
        line.split()[1].split("=", 1)[0]
        for line in files["$WORK/b001/importcfg"].splitlines()
        if line.startswith("packagefile ")
    )
    return Recipe(
        cwd=ccwd,
        files=sources,
        imports=imports,
        importcfg=files["$WORK/b001/importcfg"],
        compile=tuple(compile_argv),
        link_importcfg=files["$WORK/b001/importcfg.link"],
        link_env=tuple(env),
        link=tuple(link_argv),
        name=os.path.basename(mv[2]),
        header=header,
    )


def file_imports(files: dict[str, str]) -> frozenset[str] | None:
    """The import paths of the cell's Go files; None where the fast path cannot judge."""
    paths: set[str] = set()
    parser = _parser()
    for name, text in files.items():
        if not name.endswith(".go"):
            continue
        src = text.encode()
        tree = parser.parse(src)
        clauses = [d for d in tree.root_node.children if d.type == "package_clause"]
        if len(clauses) != 1 or src[clauses[0].start_byte : clauses[0].end_byte].split() != [
            b"package",
            b"main",
        ]:
            return None  # not package main (go says what is wrong)
        for decl in tree.root_node.children:
            if decl.type != "import_declaration":
                continue
            for spec in _import_specs(decl):
                path = spec.child_by_field_name("path")
                if path is None:
                    return None
                literal = src[path.start_byte : path.end_byte].decode()
                if len(literal) < 2 or "\\" in literal:
                    return None
                paths.add(literal[1:-1])
    return frozenset(paths)


def _import_specs(decl: Node) -> Iterator[Node]:
    stack = list(decl.children)
    while stack:
        node = stack.pop()
        if node.type == "import_spec":
            yield node
        else:
            stack.extend(node.children)


class DirectBuilder:
    """Builds a session's edited cells with compile + link when go's recipe is known."""

    def __init__(self, builder: Builder, work: Path) -> None:
        """work: the session's own directory for the recipe's $WORK (its importcfg
        files and the compiled package), kept from one edit to the next."""
        self.builder = builder
        self.work = work
        self._written: tuple[str, str] | None = None  # the importcfg files now in work
        self._same_fs: bool | None = None  # work and the executable cache: one file system
        self.recipes: dict[str, Recipe] = {}
        self.why: Counter[str] = Counter()  # how each build that missed the cache went
        self.plans = 0  # times go was asked for its plan (go build -n)
        self.enabled = config.switched_on(config.DIRECT_BUILD)

    def _recipe_key(self, job: BuildJob, parts: dict[str, object], imports: frozenset[str]) -> str:
        parts = dict(parts)
        files = parts.pop("files")
        assert isinstance(files, dict)
        parts.update(kind="recipe", names=sorted(files), imports=sorted(imports), cwd=job.cwd)
        return self.builder.key(parts, job.env)

    def unfit(self, job: BuildJob, files: dict[str, str], own_module: bool) -> str | None:
        """Why this build must be go's, before any recipe is looked up; None: it may not."""
        if not self.enabled:
            return "fast path off (GORUN_DIRECT_BUILD=0)"
        if job.command != "build" or job.install_dir is not None:
            return "a test cell" if job.command == "test" else f"go {job.command}"
        if job.key_parts is None:
            return "build flags that always ask go"
        names = flag_names(job.flags) | flag_names(job.env.get("GOFLAGS", "").split())
        if names & GO_ONLY_FLAGS:
            return "-" + sorted(names & GO_ONLY_FLAGS)[0]
        if own_module or any("/" in n for n in files):
            return "a txtar cell with its own module or packages"
        if not all(n.endswith(".go") and not n.endswith("_test.go") for n in files):
            return "files other than Go source"
        blobs = [t.encode() for t in files.values()]
        if any(_EMBED.search(b) for b in blobs) or "embedded" in job.key_parts():
            return "//go:embed"
        if job.packages == ["."] and any(_CONSTRAINT.search(b) for b in blobs):
            return "build constraints"
        if any(_GODEBUG.search(b) for b in blobs):
            return "//go:debug"
        return None

    def build(
        self,
        job: BuildJob,
        files: dict[str, str],
        own_module: bool,
        sink: OutputSink | None = None,
    ) -> Built:
        """The cell's program: from the executable cache, by compile + link, or by go."""
        # What determines the binary, read once: compile and link leave go.mod as it
        # is, so the binary they make is stored under the key it was looked up by.
        parts = job.key_parts() if job.key_parts is not None else None
        key = self.builder.key(parts, job.env) if parts is not None else None
        if key is not None:
            hit = self.builder.cache.lookup(key)
            if hit is not None:
                return Built(hit, cached=True, by="cache")
        reason = self.unfit(job, files, own_module)
        imports = file_imports(files) if reason is None else None
        if reason is None and imports is None:
            reason = "imports the fast path cannot read"
        if reason is None and "C" in (imports or ()):
            reason = "cgo"
        recipe = None
        if reason is None:
            assert imports is not None and parts is not None
            recipe_key = self._recipe_key(job, parts, imports)
            recipe = self.recipes.get(recipe_key)
            if recipe is None:
                job, recipe, key = self._ask_go(job, recipe_key, imports)
            reason = self._unlike(recipe, files)
        if recipe is not None and reason is None:
            assert key is not None
            built, reason = self._direct(job, recipe, key)
            if built is None and reason in _TOOL_FAILED and not _present(recipe.archives()):
                # go trimmed its cache since it planned (the compiler or the linker
                # missed an archive): ask go again, then compile and link once more.
                # (Checked here, not before every build: a build that works had them.)
                self.recipes.pop(recipe_key, None)
                job, recipe, key = self._ask_go(job, recipe_key, imports)
                reason = self._unlike(recipe, files)
                if recipe is not None and reason is None:
                    built, reason = self._direct(job, recipe, key)
            if built is not None:
                self.why[DIRECT] += 1
                return built
        self.why[reason or "?"] += 1
        return replace(self.builder.build(job, sink), by="go", why=reason)

    def _ask_go(
        self, job: BuildJob, recipe_key: str, imports: frozenset[str]
    ) -> tuple[BuildJob, Recipe | None, str]:
        """go's plan for this import set (go build -n), on the cell's files, now written;
        and the executable cache key again (go may have added a module to go.mod)."""
        if job.prepare is not None:
            job.prepare()
            job = replace(job, prepare=None)
        recipe = self._learn(job, recipe_key, imports)
        assert job.key_parts is not None
        return job, recipe, self.builder.key(job.key_parts(), job.env)

    @staticmethod
    def _unlike(recipe: Recipe | None, files: dict[str, str]) -> str | None:
        """Why the plan cannot build these files; None if it can."""
        if recipe is None:
            return "a new import set whose plan is more than compile + link"
        if {f.removeprefix("./") for f in recipe.files} != set(files):
            return "files other than the plan's"
        return None

    def _learn(self, job: BuildJob, recipe_key: str, imports: frozenset[str]) -> Recipe | None:
        """go's plan for the cell's files (written), if it is compile + link only."""
        self.plans += 1
        target = self.builder.cache.new_dir()
        try:
            args = ["build", "-n", *job.flags, "-o", f"{target}{os.sep}", "--", *job.packages]
            # No module lookups: a plan that needs one is left to go build, which
            # fetches it (saying so while it waits) and records it in go.mod.
            code, output = self.builder.go(args, job.cwd, {**job.env, "GOPROXY": "off"})
        finally:
            self.builder.cache.discard(target)
        if code != 0:
            return None
        recipe = parse_plan(output)
        if recipe is None or recipe.imports - IMPLICIT != imports - IMPLICIT:
            return None
        if os.path.realpath(recipe.cwd) != os.path.realpath(job.cwd):
            return None
        self.recipes[recipe_key] = recipe
        return recipe

    def _direct(self, job: BuildJob, recipe: Recipe, key: str) -> tuple[Built | None, str | None]:
        """compile + link as go would; (None, why) to let go build instead."""
        if job.prepare is not None:
            job.prepare()
        sources = b"".join(
            f"{f}\0".encode() + (Path(recipe.cwd) / f).read_bytes() + b"\0" for f in recipe.files
        )
        digest = hashlib.sha256(repr(recipe).encode() + sources).digest()
        action = _buildid(digest[:15])
        link_action = _buildid(hashlib.sha256(digest + b"link").digest()[:15])
        try:
            w = self._workdir(recipe)
        except OSError as e:
            self._written = None
            return None, f"the fast path could not write its files ({e.strerror})"
        compile_argv = _with_value(
            [a.replace("$WORK", w) for a in recipe.compile], "-buildid", f"{action}/{action}"
        )
        code, out = self._tool(compile_argv, recipe.cwd, job.env)
        if code != 0:
            self._written = None  # (its directory may be gone: written again next time)
            return None, COMPILE_FAILED
        if out:
            return None, "the compiler printed something (go shows it)"
        # The linker writes where a rename puts its program into the executable
        # cache: $WORK/b001/exe as go does, when the cache is on the same file
        # system; else a directory of the cache's own. Nothing is copied or removed.
        in_work = self.builder.cache.keeps and self._beside_cache()
        target = self.work / "b001" / "exe" if in_work else self.builder.cache.new_dir()
        built = None
        try:
            built = self._link(job, recipe, key, w, target, action, link_action)
            return built, None
        except _Declined as e:
            return None, str(e)
        except OSError as e:
            return None, f"the fast path could not write its files ({e.strerror})"
        finally:
            if not in_work and (built is None or not built.temporary):
                self.builder.cache.discard(target)  # (left empty by the rename into the cache)
            elif built is None:
                with contextlib.suppress(OSError):
                    (target / _linked_name(recipe)).unlink()  # what an interrupted link left

    def _link(
        self,
        job: BuildJob,
        recipe: Recipe,
        key: str,
        w: str,
        target: Path,
        action: str,
        link_action: str,
    ) -> Built:
        """The plan's link of the compiled package into target, then into the cache."""
        link_argv = [
            f"-buildid={link_action}/{action}/{action}/{link_action}"
            if a.startswith("-buildid=")
            else a.replace("$WORK/b001/exe/", f"{target}{os.sep}").replace("$WORK", w)
            for a in recipe.link
        ]
        env = {**job.env, **dict(recipe.link_env)}
        linked = target / _linked_name(recipe)
        code, out = self._tool(link_argv, recipe.cwd, env)
        if code != 0 or out:
            raise _Declined(LINK_FAILED if code != 0 else LINK_SPOKE)
        if not self.builder.cache.keeps:
            exe = target / recipe.name
            os.replace(linked, exe)
            return Built(exe, cached=False, temporary=True, note=self.builder.note(), by=DIRECT)
        return Built(self.builder.cache.store(key, linked), cached=False, by=DIRECT)

    def _beside_cache(self) -> bool:
        """Whether $WORK is on the executable cache's file system (a rename moves
        a program from one to the other)."""
        if self._same_fs is None:
            try:
                self._same_fs = os.stat(self.work).st_dev == os.stat(self.builder.cache.dir).st_dev
            except OSError:
                return False
        return self._same_fs

    def _workdir(self, recipe: Recipe) -> str:
        """The recipe's $WORK, with its importcfg files written (only when they change)."""
        w = str(self.work)
        cfg = self.work / "b001" / "importcfg"
        link_cfg = self.work / "b001" / "importcfg.link"
        texts = (recipe.importcfg, recipe.link_importcfg)
        if self._written != texts or not link_cfg.exists():
            self._written = None
            (self.work / "b001" / "exe").mkdir(mode=0o700, parents=True, exist_ok=True)
            cfg.write_text(recipe.importcfg.replace("$WORK", w))
            link_cfg.write_text(recipe.link_importcfg.replace("$WORK", w))
            self._written = texts
        return w

    def _tool(self, argv: list[str], cwd: str, env: dict[str, str] | object) -> tuple[int, str]:
        """Run the compiler or the linker as go runs it (PWD set to its directory)."""
        spec = ProcessSpec(argv, cwd, {**dict(env), "PWD": cwd}, capture=True, supervise=False)  # type: ignore[call-overload]
        res = run_process(spec, self.builder.control)
        if res.interrupted:
            raise Interrupted("the build was stopped by an interrupt")
        return res.returncode, (res.stdout + res.stderr).decode("utf-8", errors="replace")


class _Declined(Exception):
    """The fast path leaves this build to go, for the reason given."""


def _present(paths: tuple[str, ...]) -> bool:
    return all(os.path.exists(p) for p in paths)


def _links_into(link_argv: list[str], directory: str) -> bool:
    """Whether the linker writes one file in directory (-o directory/name)."""
    if "-o" not in link_argv[:-1]:
        return False
    out = link_argv[link_argv.index("-o") + 1]
    return out.startswith(directory) and "/" not in out[len(directory) :]


def _linked_name(recipe: Recipe) -> str:
    """The file name the plan's linker writes (go's a.out), the one it was given."""
    out = recipe.link[recipe.link.index("-o") + 1]
    return out.rsplit("/", 1)[-1]


def _with_value(argv: list[str], flag: str, value: str) -> list[str]:
    out = list(argv)
    if flag in out:
        out[out.index(flag) + 1] = value
    return out


def _buildid(raw: bytes) -> str:
    """A build ID part as go writes them: 20 characters of URL-safe base64."""
    import base64

    return base64.urlsafe_b64encode(raw).decode()[:20]
