"""gc_tuning.tune_for_service: start-up objects frozen out of collections, higher thresholds,
and reference cycles still collected. Run in a child interpreter: freezing is process-wide."""

from __future__ import annotations

import json
import subprocess
import sys

from promptha_webhooks.gc_tuning import THRESHOLDS

CHILD = """
import gc, json, weakref
from promptha_webhooks.gc_tuning import tune_for_service

before = gc.get_freeze_count()
tune_for_service()
frozen = gc.get_freeze_count()

class Node:
    pass

# A reference cycle made after start-up is still found and freed by a collection.
a, b = Node(), Node()
a.other, b.other = b, a
gone = weakref.ref(a)
del a, b
gc.collect()
print(json.dumps({"before": before, "frozen": frozen, "thresholds": gc.get_threshold(),
                  "cycle_freed": gone() is None}))
"""


def test_tune_for_service_freezes_start_up_and_raises_thresholds() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["before"] == 0
    assert result["frozen"] > 1000  # the imported modules, classes and functions
    assert tuple(result["thresholds"]) == THRESHOLDS
    assert result["cycle_freed"] is True
