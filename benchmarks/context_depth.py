"""How the cost of ``revy.Context`` operations depends on nesting depth.

Run with ``python -m benchmarks.context_depth`` (or ``make bench``). Each
operation is timed inside 1 and inside 1000 nested contexts, best of several
repeats; ``get_actor()`` at depth 1000 should cost at most 1.5x what it costs
at depth 1. Numbers never make this script fail: it prints PASS or FAIL.
"""

import timeit
from contextlib import ExitStack

from revy import Context

DEPTHS = (1, 1000)
TARGET = 1.5
NUMBER = 200_000
REPEAT = 7

OPERATIONS = {
    "get_actor()": "get_actor()",
    "set_actor(x)": "set_actor(x)",
    "enter + exit": "with context:\n    pass",
}


def nested(stack: ExitStack, depth: int) -> None:
    """Enter ``depth`` contexts, each setting something, as real code would."""
    for level in range(depth):
        stack.enter_context(Context.via_actor(level))
        if level % 10 == 0:
            Context.set_revision_description(f"level {level}")


def ns_per_op(statement: str, depth: int) -> float:
    namespace = {
        "get_actor": Context.get_actor,
        "set_actor": Context.set_actor,
        "x": object(),
        "context": Context(),
    }
    with ExitStack() as stack:
        nested(stack, depth)
        timer = timeit.Timer(statement, globals=namespace)
        best = min(timer.repeat(repeat=REPEAT, number=NUMBER))
    return best / NUMBER * 1e9


def main() -> None:
    shallow, deep = DEPTHS
    print(f"| operation | depth {shallow} (ns/op) | depth {deep} (ns/op) | ratio |")
    print("|---|---:|---:|---:|")
    ratios = {}
    for name, statement in OPERATIONS.items():
        at_shallow, at_deep = (ns_per_op(statement, d) for d in DEPTHS)
        ratios[name] = at_deep / at_shallow
        print(f"| {name} | {at_shallow:.0f} | {at_deep:.0f} | {ratios[name]:.2f}x |")
    ratio = ratios["get_actor()"]
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(
        f"\nget_actor() at depth {deep} costs {ratio:.2f}x depth {shallow} "
        f"(target <= {TARGET}x): {verdict}"
    )


if __name__ == "__main__":
    main()
