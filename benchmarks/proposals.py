"""What a proposal of n objects of 5 fields costs: recording it, checking
its conflicts, applying it.

Run with ``python -m benchmarks.proposals`` (``make bench`` runs it, on the
database DB names). The block changes the 5 fields of each of n objects;
recording it as a proposal is compared with the same block in a plain
``revy.Context``, which writes the changes and their history. The target
(decision 0016): the queries proposing adds to the block's own, and those
of ``conflicts()`` and of ``apply()`` beyond one write per object, stay
within ``TARGET`` at n=100: a few statements and one per batch of rows.
Numbers never make this script fail: it prints PASS or FAIL.
"""

import datetime
import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from benchmarks.models import RevyItem  # noqa: E402
from benchmarks.runner import is_transaction_control  # noqa: E402
from revy import Context  # noqa: E402
from revy.contrib.django.proposals import propose  # noqa: E402

SIZES = (10, 100)
# The queries each operation may add at n=100, beyond the block's own (and,
# for apply(), one write an object): a few statements and one per batch of
# rows, never one per object or per field.
TARGET = 20


def items(n: int) -> list[RevyItem]:
    RevyItem.objects.all().delete()
    moment = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    RevyItem.objects.bulk_create(
        RevyItem(text=f"t{i}", number=i, body="b", flag=False, moment=moment)
        for i in range(n)
    )
    return list(RevyItem.objects.order_by("pk"))


def change_all(objects: list[RevyItem]) -> None:
    for obj in objects:
        obj.text += "!"
        obj.number += 1
        obj.body += "b"
        obj.flag = not obj.flag
        obj.moment += datetime.timedelta(days=1)
        obj.save()


def counted(run) -> tuple[int, float, object]:
    """Queries (without transaction control) and seconds of ``run()``."""
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = run()
        took = time.perf_counter() - started
    count = sum(
        1 for q in queries.captured_queries if not is_transaction_control(q["sql"])
    )
    return count, took, result


def plain_block(objects: list[RevyItem]) -> None:
    with transaction.atomic(), Context():
        change_all(objects)


def proposed_block(objects: list[RevyItem]):
    with propose(description="bench") as proposal:
        change_all(objects)
    return proposal


def measure(n: int) -> dict[str, tuple[int, float]]:
    found = {}
    objects = items(n)
    found["block in a context"] = counted(lambda: plain_block(objects))[:2]
    objects = items(n)
    queries, took, proposal = counted(lambda: proposed_block(objects))
    found["block in propose()"] = (queries, took)
    found["conflicts()"] = counted(proposal.conflicts)[:2]
    found["apply()"] = counted(proposal.apply)[:2]
    return found


def main() -> None:
    creation = connection.creation
    old_name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        results = {n: measure(n) for n in SIZES}
    finally:
        creation.destroy_test_db(old_name, verbosity=0)
    small, large = SIZES
    print(f"Proposals on {settings.DB}: n objects of 5 fields")
    print(f"| operation | queries, n={small} | n={large} | ms, n={large} |")
    print("|---|---:|---:|---:|")
    for name in results[large]:
        q_small, q_large = results[small][name][0], results[large][name][0]
        print(
            f"| {name} | {q_small} | {q_large} | {results[large][name][1] * 1000:.0f} |"
        )

    def overhead(n: int) -> dict[str, int]:
        got = results[n]
        return {
            "propose() beyond the block": got["block in propose()"][0]
            - got["block in a context"][0],
            "conflicts()": got["conflicts()"][0],
            "apply() beyond one write an object": got["apply()"][0] - n,
        }

    at_small, at_large = overhead(small), overhead(large)
    print()
    for name, value in at_large.items():
        print(f"{name}: {at_small[name]} queries at n={small}, {value} at n={large}")
    verdict = "PASS" if max(at_large.values()) <= TARGET else "FAIL"
    print(f"\nAt most {TARGET} queries beyond the writes themselves: {verdict}")


if __name__ == "__main__":
    main()
