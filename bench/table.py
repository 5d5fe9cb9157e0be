#!/usr/bin/env python3
"""bench/table.py RAW.tsv OUT.md OUT.json: turn bench/run.sh's measurements
into the one table `make bench` prints. RAW holds KEY<TAB>VALUE lines; a key
repeated once per round is summarised by its median. Every row is a ratio of
two figures measured side by side in the same run, with both figures shown."""
import json
import statistics
import sys

raw_path, md_path, json_path = sys.argv[1:4]
samples = {}
with open(raw_path) as f:
    for line in f:
        key, _, value = line.rstrip("\n").partition("\t")
        samples.setdefault(key, []).append(value)


def num(key, how="median"):
    vals = []
    for v in samples.get(key, []):
        try:
            vals.append(float(v))
        except ValueError:
            pass
    if not vals:
        return None
    if how == "max":
        return max(vals)
    if how == "last":
        return vals[-1]
    return statistics.median(vals)


def text(key):
    v = samples.get(key)
    return v[-1] if v else None


def div(a, b):
    return a / b if a is not None and b else None


def f(v, fmt="{:.2f}", none="n/a"):
    return none if v is None else fmt.format(v)


def rate(v):
    """events/s, human units"""
    if v is None:
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:.1f} M/s"
    return f"{v / 1e3:.0f} k/s"


rows = []  # (measure, ratio, figures, goal, result)
busy = []  # storms during which others had BPF programs on the connect tracepoints


def row(measure, ratio, figures, goal="", ok=None):
    result = "" if ok is None else ("PASS" if ok else "MISS")
    if goal and ok is None:
        result = "n/a"
    rows.append({"measure": measure, "ratio": ratio, "figures": figures, "goal": goal,
                 "result": result})


def ok_all(*conds):
    if any(c is None for c in conds):
        return None
    return all(conds)


# ---------------------------------------------------------------- P1
storms = [
    ("udp", "UDP storm, 1 socket"),
    ("udp-fresh", "UDP storm, socket per connect"),
    ("tcp", "TCP storm to loopback listener"),
]
for mode, title in storms:
    a, b, c, d = (num(f"p1.{mode}.{x}") for x in "abcd")
    d_note = ""
    d_suppressed = num(f"p1.{mode}.d_incomplete")
    if d is None and d_suppressed is not None:
        # perf's samples were suppressed in every round: its cost is not
        # comparable and no goal is judged on it.
        d_note = (f" [perf kept < 90% of the connects in every round (median {d_suppressed:.0f} ns): "
                  "not comparable]")
    runs = sum(len(samples.get(f"p1.{mode}.{x}_foreign", [])) for x in "abcd")
    foreign_runs = sum(1 for x in "abcd" for v in samples.get(f"p1.{mode}.{x}_foreign", [])
                       if v not in ("", "0"))
    aw, bw, cw, dw = (num(f"p1.{mode}.{x}_wall") for x in "abcd")
    n = num(f"p1.{mode}.connects", "last")
    lost = num(f"p1.{mode}.c_lost", "max")
    events = num(f"p1.{mode}.c_events", "last")
    if a is None and c is None:
        continue
    head = f"P1 {title} ({f(n, '{:,.0f}')} connects)"
    ca = div(c, a)
    goal_udp = mode == "udp"
    lost_txt = "lost n/a" if lost is None else f"lost {lost:.0f}"
    made = None if n is None else n + (10000 if n >= 10000 else 0)  # storm's warm-up
    captured = num(f"p1.{mode}.c_captured", "min")
    cov = "" if events is None else f", {events:,.0f} events in trace"
    shared = f"; others' BPF tracers on connect during {foreign_runs} of {runs} runs" if foreign_runs else ""
    if captured is not None and made:
        cov += f" ({captured:,.0f} of the storm's {made:,.0f} connects"
        cov += ")" if captured >= made else f": {made - captured:,.0f} MISSING)"
    complete = None if captured is None or not made else captured >= made
    ns = "{:.0f}"
    row(f"{head}: record / none (c/a)", f(ca),
        f"CPU a {f(a, ns)}, c {f(c, ns)} ns/connect (wall a {f(aw, ns)}, c {f(cw, ns)}; "
        f"c/a {f(div(cw, aw))}), {lost_txt}{cov}{shared}",
        "c/a <= 1.15, 0 lost" if goal_udp else "",
        ok_all(ca <= 1.15, lost == 0, complete)
        if goal_udp and ca is not None and lost is not None else None)
    row(f"{head}: record / empty BPF (c/b)", f(div(c, b)),
        f"CPU b {f(b, ns)}, c {f(c, ns)} ns; floor b/a {f(div(b, a))} (wall b {f(bw, ns)}, "
        f"c/b {f(div(cw, bw))})")
    d_lost = num(f"p1.{mode}.d_lost", "last")
    d_samples = num(f"p1.{mode}.d_captured", "min")
    d_rounds = len(samples.get(f"p1.{mode}.d", []))
    d_bad = len(samples.get(f"p1.{mode}.d_incomplete", []))
    kept = ""
    if d_samples is not None and made:
        kept = f", perf kept >= {d_samples:,.0f} of the storm's {made:,.0f} connects"
        if d_bad:
            kept += f"; {d_bad} of {d_rounds + d_bad} rounds kept < 90% and are left out"
        kept += d_note
    row(f"{head}: perf record / none (d/a)", f(div(d, a)),
        f"CPU a {f(a, ns)}, d {f(d, ns)} ns/connect (wall d {f(dw, ns)}, d/a {f(div(dw, aw))})" + kept
        + ("" if d_lost is None else f", perf's own lost count {d_lost:.0f}"))
    if foreign_runs:
        busy.append(mode)
    added_c = None if c is None or a is None else c - a
    added_d = None if d is None or a is None else d - a
    share = div(added_c, added_d)
    row(f"{head}: added cost record / perf ((c-a)/(d-a))", f(share),
        f"record +{f(added_c, ns)} ns, perf +{f(added_d, ns)} ns CPU per connect "
        f"(wall +{f(None if cw is None or aw is None else cw - aw, ns)}, "
        f"+{f(None if dw is None or aw is None else dw - aw, ns)})",
        "<= 0.5" if goal_udp else "",
        (share <= 0.5) if goal_udp and share is not None else None)
    ct, pt = num(f"p1.{mode}.c_tracer_cpu"), num(f"p1.{mode}.d_tracer_cpu")
    row(f"{head}: tracer process CPU per connect, record / perf record", f(div(ct, pt)),
        f"record {f(ct, ns)} ns, perf record {f(pt, ns)} ns (user-space consumer, other core)")

# ---------------------------------------------------------------- P2
sb, se = num("p2.storm_bytes", "last"), num("p2.storm_events", "last")
pb, pe = num("p2.perf_bytes", "last"), num("p2.perf_events", "last")
mb, me = num("p2.mixed_bytes", "last"), num("p2.mixed_events", "last")
ct_bpe, perf_bpe, mixed_bpe = div(sb, se), div(pb, pe), div(mb, me)
row("P2 size, storm trace: conntrail / perf.data bytes per event", f(div(ct_bpe, perf_bpe), "{:.3f}"),
    f"conntrail {f(ct_bpe)} B/event ({f(se, '{:,.0f}')} events, {f(sb, '{:,.0f}')} B); "
    f"perf {f(perf_bpe, '{:.1f}')} B/event ({f(pe, '{:,.0f}')} samples)",
    "<= 6 B/event", None if ct_bpe is None else ct_bpe <= 6)
row("P2 size, generated mixed workload: conntrail / perf.data (storm) bytes per event",
    f(div(mixed_bpe, perf_bpe), "{:.3f}"),
    f"conntrail {f(mixed_bpe)} B/event ({f(me, '{:,.0f}')} events)", "<= 12 B/event",
    None if mixed_bpe is None else mixed_bpe <= 12)

# ---------------------------------------------------------------- P3
# Read speeds are events per second of CPU time (user + system) of the
# reading process, so a busy shared machine does not distort them.
def per_s(events, ns):
    return div(events, None if ns is None else ns / 1e9)


perf_rate = per_s(pe, num("p3.perf_script_ns"))
rep_rate = per_s(se, num("p3.report_ns"))
scr_rate = per_s(se, num("p3.script_ns"))
conv_rate = per_s(se, num("p3.convert_ns"))
big_events = num("p4.events", "last")
big_rate = per_s(big_events, num("p4.full_ns"))
rep_x = div(rep_rate, perf_rate)
row("P3 report vs perf script, same storm (events/s)", f(rep_x, "{:.1f}x"),
    f"report {rate(rep_rate)}, perf script {rate(perf_rate)}", ">= 50x and >= 20 M/s",
    None if rep_x is None else ok_all(rep_x >= 50, rep_rate >= 20e6))
row("P3 report, large trace full scan (events/s) vs perf script", f(div(big_rate, perf_rate), "{:.1f}x"),
    f"report {rate(big_rate)} on {f(big_events, '{:,.0f}')} events", ">= 20 M/s",
    None if big_rate is None else big_rate >= 20e6)
row("P3 script > /dev/null vs perf script, same storm (events/s)",
    f(div(scr_rate, perf_rate), "{:.1f}x"), f"script {rate(scr_rate)}, perf script {rate(perf_rate)}")
small_n = num("p3.small_events", "last")
tsh_lines = num("p3.tshark_lines", "last")
tsh_rate = per_s(tsh_lines, num("p3.tshark_ns"))
conv_small_rate = per_s(small_n, num("p3.convert_small_ns"))
row("P3 convert to pcapng vs tshark -r of that pcapng (events/s)",
    f(div(conv_small_rate, tsh_rate), "{:.1f}x"),
    f"convert {rate(conv_rate)} on the storm, {rate(conv_small_rate)} on {f(small_n, '{:,.0f}')} "
    f"events; tshark {rate(tsh_rate)} ({f(tsh_lines, '{:,.0f}')} lines)",
    ">= 5 M/s", None if conv_rate is None else conv_rate >= 5e6)

# ---------------------------------------------------------------- P4
full = num("p4.full_ns")
queries = (
    ("window", f"one-minute --since/--until ({text('p4.window')})"),
    ("rare", f"--filter 'daddr == {text('p4.rare_addr')}' (rarest address, "
     f"{f(num('p4.rare_events', 'last'), '{:,.0f}')} events)"),
    ("absent", f"--filter 'daddr == {text('p4.absent_addr')}' (address not in the trace)"),
)
for kind, title in queries:
    t = num(f"p4.{kind}_ns")
    speedup = div(full, t)
    read = num(f"p4.{kind}_chunks_read", "last")
    total = num(f"p4.{kind}_chunks_total", "last")
    frac = div(read, total)
    detail = f"CPU full scan {f(div(full, 1e6), '{:,.0f}')} ms, query {f(div(t, 1e6), '{:,.1f}')} ms " \
        f"(wall {f(div(num('p4.full_ns_wall'), 1e6), '{:,.0f}')}, {f(div(num(f'p4.{kind}_ns_wall'), 1e6), '{:,.1f}')} ms); " \
        f"event chunks read {f(read, '{:.0f}')}/{f(total, '{:.0f}')}"
    if frac is not None:
        detail += f" ({frac * 100:.2f}%)"
    row(f"P4 {title} vs full scan", f(speedup, "{:.0f}x"), detail, ">= 50x, < 2% of chunks",
        ok_all(None if speedup is None else speedup >= 50, None if frac is None else frac < 0.02))

# ---------------------------------------------------------------- P5
rec_rss = num("p5.record_rss_kib.udp", "max")
perf_rss = num("p5.perf_rss_kib.udp", "max")
row("P5 peak RSS, record / perf record (UDP storm)", f(div(rec_rss, perf_rss)),
    f"record {f(div(rec_rss, 1024), '{:.1f}')} MiB, perf record {f(div(perf_rss, 1024), '{:.1f}')} MiB",
    "<= 32 MiB", None if rec_rss is None else rec_rss <= 32 * 1024)
rep_rss = num("p4.full_ns_rss", "max")
rep_small = num("p3.report_ns_rss", "max")
row("P5 peak RSS, report on the large trace / on the storm trace", f(div(rep_rss, rep_small)),
    f"large ({f(big_events, '{:,.0f}')} events) {f(div(rep_rss, 1024), '{:.1f}')} MiB, "
    f"storm {f(div(rep_small, 1024), '{:.1f}')} MiB")

# ---------------------------------------------------------------- output
machine = {k.split(".", 1)[1]: text(k) for k in samples if k.startswith("machine.")}
head = [
    "# conntrail bench",
    "",
    f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
    f"{machine.get('mem_gib', '?')} GiB, kernel {machine.get('kernel', '?')}, "
    f"record backend: {machine.get('backend') or 'n/a'}",
    f"Run: commit {machine.get('git', '?')}, BENCH_SCALE {machine.get('scale', '?')}, "
    f"{machine.get('rounds', '?')} alternating rounds (medians), load at start {machine.get('load', '?')}",
    "",
    "a = no tracing, b = empty BPF program on sys_enter/exit_connect, "
    "c = conntrail record (system-wide, zstd), d = perf record -e syscalls:sys_enter_connect -a. "
    "P1 figures are CPU time of the connecting thread per connect (wall in brackets); "
    "read speeds are events per CPU second of the reader.",
    "",
]
cols = ["measure", "ratio", "figures", "goal", "result"]
titles = ["Measure", "Ratio", "Figures (side by side, same run)", "Goal", ""]
table = ["| " + " | ".join(titles) + " |", "|" + "|".join("---" for _ in cols) + "|"]
for r in rows:
    table.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
method = [
    "Storms (bench/storm.c; only the loop is timed, after 10,000 untimed but traced warm-up "
    "connects): UDP 1 socket = connect() on one UDP socket to 127.0.0.1:9 again and again; "
    "socket per connect = socket()+connect()+close(); TCP = socket()+connect()+close() to a "
    "loopback listener drained by an accept thread, SO_LINGER 0 so no TIME_WAIT piles up.",
    "perf is started disabled and enabled through its control fifo, record is waited for until "
    "it prints its backend (after its own probe connect was seen), so neither misses the start.",
    f"tshark reads a smaller generated trace's pcapng ({f(num('p3.small_events', 'last'), '{:,.0f}')} "
    "events) because it reads 20-100x slower; conntrail convert is timed on the same file and on "
    "the storm.",
    "P4 reads the mixed-profile generated trace; the window is the trace's middle minute.",
]
if busy:
    method.append("Other engineers' BPF programs were attached to the connect tracepoints during "
                  f"some runs of: {', '.join(busy)}; they add their cost to every configuration "
                  "of those runs, and a BPF program returning 0 there drops perf's samples.")
notes = method + samples.get("note", [])
tail = [""] + ([f"- {n}" for n in notes] if notes else [])
md = "\n".join(head + table + tail) + "\n"
with open(md_path, "w") as out:
    out.write(md)
print(md, end="")

summary = {k: (num(k) if num(k) is not None else text(k)) for k in samples if k != "note"}
with open(json_path, "w") as out:
    json.dump({"machine": machine, "rows": rows, "notes": notes, "medians": summary,
               "samples": {k: v for k, v in samples.items() if k != "note"}}, out, indent=1)
    out.write("\n")
