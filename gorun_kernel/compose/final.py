"""The final-value rules: which final expression of a snippet shows its value, and how.

A cell's last statement, when it is an expression, shows its value as its
result (README, "Snippet rules"). A final call's value that nobody asked to
see is not shown: a lone nil error (t.Execute(...)), and what printing and
writing calls return when they worked ((n, <nil>)). A non-nil error always is.
The names here are the helpers emit.py wraps the expression in.
"""

from __future__ import annotations

import re

from gorun_kernel.compose.decls import Decl
from gorun_kernel.compose.parse import Item

# Names in generated code: with a letter (U+01C2, a Latin letter to Go) that no
# one types, so a user's declaration can never collide with ours.
SHOW = "gorunǂshow"
SHOW_CALL = "gorunǂshowCall"  # a call's results, unless a lone nil error
SHOW_WRITE = "gorunǂshowWrite"  # a printing or writing call's: only a non-nil error

# Printing, writing and scanning calls: their byte counts are noise.
_WRITING_CALLS = re.compile(
    r"^(fmt\.(Fprint|Print|Fscan|Scan|Sscan)\w*|.*\.(Write\w*|Close|Flush|Encode))$"
)
# Calls that return nothing (log's): statements, without a build to find out.
_NO_VALUE_CALLS = re.compile(r"^(log\.\w+|.*\.(Print|Fatal|Panic)\w*)$")


def final_value(body: list[Item], decls: dict[str, Decl]) -> tuple[Item | None, str]:
    """The final expression whose value the cell shows, and the helper that shows it.

    A receive (`<-done`) only waits. A call shows its results unless they are
    noise (SHOW_CALL: a lone nil error; SHOW_WRITE, for printing and writing
    calls, also through a name bound to one such as `p := fmt.Println`: unless
    the error is not nil).
    """
    final = body[-1] if body and body[-1].expression and not body[-1].receive else None
    if final is None:
        return None, ""
    if final.call is None:
        return final, SHOW
    binds = {n: f for d in decls.values() for n, f in d.binds.items()}
    for item in body:
        binds.update(item.binds)
    callee = binds.get(final.call, final.call)
    if _WRITING_CALLS.match(callee):
        return final, SHOW_WRITE
    return (None, "") if _NO_VALUE_CALLS.match(callee) else (final, SHOW_CALL)
