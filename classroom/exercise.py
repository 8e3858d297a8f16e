"""The exercise each simulated student works through, and what each cell must do.

It follows notebooks/classroom.ipynb (palindromes): the teacher's set-up, a
correct answer, the teacher's check, a typo that does not compile, a loop that
never ends (stopped by the student's interrupt), a test cell, and a program
reading its input with fmt.Scan (answered through the websocket).

Two steps depend on features other issues are adding. They are checked by
feature in the installed gorun_kernel (its `%help` text); when missing, the
step is skipped and the load test says so, never pretends:
  - HOOK issue 13: a `%%gotest` cell (`TEST_CELL`);
  - HOOK issue 10: a "bad student" whose program allocates without bound and
    must be stopped by the memory limit (`BAD_STUDENT_CELL`, `--memory`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .settings import CLASS_TIMEOUT_CELL


@dataclass(frozen=True)
class Cell:
    name: str
    code: str
    expect_ename: str | None = None  # None: the cell must succeed
    expect_text: str = ""  # must appear in the cell's output (or error, for a failure)
    interrupt_on: str = ""  # interrupt the kernel once this text is printed
    input_reply: str | None = None  # the program asks for input: answer this
    needs: str = ""  # a feature of the installed gorun_kernel ("gotest", "memory")


SOLUTION = """\
func IsPalindrome(s string) bool {
	var letters []rune
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			letters = append(letters, r)
		}
	}
	for i, j := 0, len(letters)-1; i < j; i, j = i+1, j-1 {
		if letters[i] != letters[j] {
			return false
		}
	}
	return true
}
"""

CHECK = """\
cases := map[string]bool{
	"racecar": true, "gopher": false, "A man, a plan, a canal: Panama": true, "été": true,
}
failed := 0
for in, want := range cases {
	if IsPalindrome(in) != want {
		failed++
		fmt.Printf("FAIL  IsPalindrome(%q) != %v\\n", in, want)
	}
}
fmt.Printf("%d of %d cases pass\\n", len(cases)-failed, len(cases))
"""

TEST_CELL = """\
%%gotest
func TestIsPalindrome(t *testing.T) {
	for _, s := range []string{"kayak", "Never odd or even"} {
		if !IsPalindrome(s) {
			t.Errorf("IsPalindrome(%q) = false", s)
		}
	}
}
"""

SCAN = """\
fmt.Print("A word, please: ")
var word string
if _, err := fmt.Scan(&word); err != nil {
	fmt.Println("no word:", err)
	return
}
fmt.Printf("%q is a palindrome: %v\\n", word, IsPalindrome(word))
"""

EXERCISE = [
    Cell("set-up", CLASS_TIMEOUT_CELL),
    Cell("solution", SOLUTION),
    Cell("check", CHECK, expect_text="4 of 4 cases pass"),
    Cell(
        "compile error",
        'fmt.Println(IsPalindrom("noon"))',
        expect_ename="BuildError",
        expect_text="undefined: IsPalindrom",
    ),
    Cell(
        "endless loop",
        'fmt.Println("looping")\nfor {\n}',
        expect_ename="Interrupted",
        interrupt_on="looping",
    ),
    Cell("test cell", TEST_CELL, expect_text="TestIsPalindrome", needs="gotest"),
    Cell("fmt.Scan", SCAN, expect_text='"kayak" is a palindrome: true', input_reply="kayak"),
]

# The bad student's extra cell: it touches 1 MiB after another. The class's limit
# (settings.KERNEL_ENV's GORUN_MEMORY_LIMIT, set once for every kernel; the cell
# asks for nothing) stops it; without one it stops by itself at 4 GiB and prints
# NOT STOPPED (a failure).
BAD_STUDENT_CELL = Cell(
    "unbounded allocation",
    """\
var hoard [][]byte
for i := 0; i < 4096; i++ {
	b := make([]byte, 1<<20)
	for j := range b {
		b[j] = 1
	}
	hoard = append(hoard, b)
}
fmt.Println("NOT STOPPED after", len(hoard), "MiB")
""",
    expect_ename="OverMemoryLimit",
    expect_text="memory limit",  # "...: over the 512 MiB memory limit"
    needs="memory",
)

FEATURE_MARKS = {"gotest": "%%gotest", "memory": "--memory"}
FEATURE_ISSUES = {"gotest": "%%gotest (issue 13)", "memory": "--memory (issue 10)"}


def features_in_help(help_text: str) -> set[str]:
    """The optional features that the kernel's `%help` text mentions."""
    return {name for name, mark in FEATURE_MARKS.items() if mark in help_text}


def container_bad_cell() -> Cell:
    """The bad student's cell in a container whose memory limit (only) stops it."""
    return replace(
        BAD_STUDENT_CELL,
        expect_text="memory limit of this server's container",  # "killed: over the 1 GiB ..."
        needs="",
    )


def cells_for(
    student: int, features: set[str], bad_student: bool, container_limit: str | None = None
) -> list[Cell]:
    """The cells student number `student` runs, in order (student 0 may be the bad one).

    With a container_limit the kernel's own limit is off and the container's stops the
    bad student's program.
    """
    cells = [c for c in EXERCISE if not c.needs or c.needs in features]
    if bad_student and student == 0 and container_limit:
        cells.insert(3, container_bad_cell())
    elif bad_student and student == 0 and "memory" in features:
        cells.insert(3, BAD_STUDENT_CELL)
    return cells
