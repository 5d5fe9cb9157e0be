#!/usr/bin/env python3
"""filter_want.py EVENTS.jsonl CASES: for each line "name|expr|predicate" of
CASES, how many events of script --json the Python predicate over an event e
accepts: the truth the filter tests compare conntrail's --filter with.
lat(e) is the latency the filter's `latency` field means."""
import json
import sys


def lat(e):
    known = "result" in e or e["outcome"] == "abandoned"
    later = known and ("ret" not in e or e["ret"] == -115 or e["outcome"] == "abandoned"
                       or e.get("result") != e["ret"])
    if later:
        return e.get("result_ns", 0)
    return e.get("latency_ns")


events = [json.loads(line) for line in open(sys.argv[1])]
for line in open(sys.argv[2]):
    name, expr, pred = line.rstrip("\n").split("|")
    f = eval("lambda e: " + pred, {"lat": lat})
    print(sum(1 for e in events if f(e)))
