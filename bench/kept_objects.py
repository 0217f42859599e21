"""Bytes the operator keeps per watched object, before and after trimming it.

Reads a `kubectl get ... -o json` list on stdin (pods labelled
kappa.dev/component=function, or Functions) and prints, per object, the memory of a
deep copy of the whole object (what the controller used to keep) and of what it keeps
now (`kept_pod`, `kept_function`), measured with tracemalloc:

    kubectl get pods -A -l kappa.dev/component=function -o json | python bench/kept_objects.py pods
    kubectl get functions -A -o json | python bench/kept_objects.py functions
"""

import copy
import json
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

from kappa.controller.observed import kept_function, kept_pod


def bytes_each(items: list[dict[str, Any]], make: Callable[[dict[str, Any]], Any]) -> float:
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    kept = [make(item) for item in items]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    del kept
    return size / len(items)


def main() -> int:
    kind = sys.argv[1] if len(sys.argv) > 1 else "pods"
    keep = kept_pod if kind == "pods" else kept_function
    items = json.load(sys.stdin)["items"]
    if not items:
        print(f"no {kind} in the list")
        return 1
    whole = bytes_each(items, copy.deepcopy)
    trimmed = bytes_each(items, lambda item: copy.deepcopy(keep(item)))
    print(f"{len(items)} {kind}: {whole:,.0f} bytes each whole, {trimmed:,.0f} kept "
          f"({100 * (1 - trimmed / whole):.0f} % less)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
