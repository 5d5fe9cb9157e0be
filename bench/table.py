#!/usr/bin/env python3
"""bench/table.py RAW.tsv OUT.md OUT.json: turn bench/run.sh's measurements
into the one table `make bench` prints. RAW holds KEY<TAB>VALUE lines; a key
repeated once per round is summarised by its median. Every row is a ratio of
two figures measured side by side in the same run, with both figures shown."""
import json
import os
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


impossible = []  # figures that cannot be true: the bench run fails
# A median this close below its floor is a tie, not a figure that cannot be
# true: a configuration that adds nothing measurable to the workload (a
# cgroup connect hook under getppid) comes out below its floor in half the
# runs, by a hair.
TIE = float(os.environ.get("BENCH_TIE", "0.02"))


def round_ratios(prefix, x, y="a"):
    """The kept rounds' own ratios x/y (each round runs every configuration
    in turn, so a round's pair shared the machine's state); [] without two
    full series."""
    rx = [float(v) for v in samples.get(f"{prefix}.ratio.{x}", [])]
    if y != "a":
        ry = [float(v) for v in samples.get(f"{prefix}.ratio.{y}", [])]
        rx = [u / v for u, v in zip(rx, ry) if v] if len(ry) == len(rx) else []
    return rx


def span_text(rx, label=""):
    """"; per round LABEL min, median, max (n rounds)" of ratios rx, or ""."""
    if not rx:
        return ""
    rx = sorted(rx)
    return (f"; per round {label}min {rx[0]:.3f}, median {statistics.median(rx):.3f}, "
            f"max {rx[-1]:.3f} ({len(rx)} rounds)")


def paired(prefix, x, y="a"):
    """The median of the kept rounds' own ratios x/y, or None."""
    rx = round_ratios(prefix, x, y)
    return statistics.median(rx) if rx else None


def traced_ratio(x, a, what=None, pair=None):
    """x/a for a traced configuration x against no tracing (or its floor) a,
    1.00 when x is below a by less than TIE, by its median or by the median
    of its rounds' own ratios (pair) (no cost this run can measure), or None
    with why when it cannot be true (a tracer that makes the workload
    cheaper is noise, never a figure to publish; the run fails, naming it)."""
    r = div(x, a)
    if r is not None and r < 1.0 and (r >= 1.0 - TIE or (pair is not None and pair >= 1.0 - TIE)):
        return 1.0, (f"median {x:.0f} against {a:.0f}"
                     + ("" if pair is None else f" (rounds' own ratios: median {pair:.3f})")
                     + f": within {TIE:.0%} below, no cost this run measures (shown as 1.00)")
    if r is not None and r < 1.0:
        if what:
            impossible.append(f"{what}: {x:.1f} below {a:.1f}")
        return None, f"median {x:.0f} below {a:.0f}: under this run's noise, no figure"
    return r, ""


def ratio_row(name, v, base, cfg, detail, pair=None):
    """The row of configuration cfg, whose median is v: v/base, then why it
    is no figure (if so) and detail(); or n/a with why cfg has no run."""
    if v is None:
        row(name, "n/a", peer_na[cfg] or "no run succeeded (see the log)")
        return
    r, why = traced_ratio(v, base, name.rsplit(" (", 1)[0], pair)
    row(name, f(r), (f"{why}; " if why else "") + detail())


def paired_excess(prefix, a):
    """Per kept round, (c-i)-(h-b) in ns (from the round's ratios to a,
    times a's median): min, median, max; None without four full series."""
    series = [[float(v) for v in samples.get(f"{prefix}.ratio.{x}", [])] for x in "cihb"]
    n = len(series[0])
    if a is None or n == 0 or any(len(r) != n for r in series):
        return None
    ex = sorted(((c - i) - (h - b)) * a for c, i, h, b in zip(*series))
    return ex[0], statistics.median(ex), ex[-1]


def spread(prefix, x, y="a"):
    """The per-round ratios x/y of the kept rounds: min, median, max."""
    return span_text(round_ratios(prefix, x, y), f"{x}/{y} ")


def wall_ratio(x, a):
    """A wall-clock x/a, or why not: below 1 cannot be true for a tracer."""
    r = div(x, a)
    return "noise (< 1)" if r is not None and r < 1.0 else f(r)


def wall_added(x, a):
    if x is None or a is None:
        return "n/a"
    return "noise (< 0)" if x < a else f"+{x - a:.0f}"


def ok_all(*conds):
    if any(c is None for c in conds):
        return None
    return all(conds)


# ---------------------------------------------------------------- P1
storms = [
    ("udp", "UDP storm, 1 socket"),
    ("udp-fresh", "UDP storm, socket per connect"),
    ("tcp", "TCP storm to loopback listener, blocking"),
    ("tcp-nb", "TCP storm to loopback listener, non-blocking (EINPROGRESS, poll, SO_ERROR)"),
]
peer_na = {x: text(f"peer.{x}_na") for x in "efghi"}
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
    pre = f"p1.{mode}"
    ca, ca_why = traced_ratio(c, a, f"{head}: record / none", paired(pre, "c"))
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
    rejected = len(samples.get(f"p1.{mode}.rejected.a", []))
    rej = f"; {rejected} round(s) rejected as noise and repeated" if rejected else ""
    row(f"{head}: record / none (c/a)", f(ca),
        (f"{ca_why}; " if ca_why else "") +
        f"CPU a {f(a, ns)}, c {f(c, ns)} ns/connect (wall a {f(aw, ns)}, c {f(cw, ns)}; "
        f"c/a {wall_ratio(cw, aw)}), {lost_txt}{cov}{shared}{rej}{spread(pre, 'c')}",
        "c/a <= 1.15, 0 lost" if goal_udp else "",
        ok_all(ca <= 1.15, lost == 0, complete)
        if goal_udp and ca is not None and lost is not None else None)
    cb, cb_why = traced_ratio(c, b, f"{head}: record / empty BPF", paired(pre, "c", "b"))
    ba, ba_why = traced_ratio(b, a, f"{head}: empty BPF / none", paired(pre, "b"))
    row(f"{head}: record / empty BPF (c/b)", f(cb),
        (f"{cb_why}; " if cb_why else "") +
        f"CPU b {f(b, ns)}, c {f(c, ns)} ns; floor b/a {f(ba)} (wall b {f(bw, ns)}, "
        f"c/b {wall_ratio(cw, bw)}){spread(pre, 'c', 'b')}")
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
    da, da_why = traced_ratio(d, a, f"{head}: perf record / none", paired(pre, "d"))
    row(f"{head}: perf record / none (d/a)", f(da),
        (f"{da_why}; " if da_why else "") +
        f"CPU a {f(a, ns)}, d {f(d, ns)} ns/connect (wall d {f(dw, ns)}, d/a {wall_ratio(dw, aw)})" + kept
        + ("" if d_lost is None else f", perf's own lost count {d_lost:.0f}") + spread(pre, "d"))
    if foreign_runs:
        busy.append(mode)
    added_c = None if c is None or a is None else c - a
    added_d = None if d is None or a is None else d - a
    share = div(added_c, added_d) if (added_c or 0) > 0 and (added_d or 0) > 0 else None
    row(f"{head}: added cost record / perf ((c-a)/(d-a))", f(share),
        f"record {wall_added(c, a)} ns, perf {wall_added(d, a)} ns CPU per connect "
        f"(wall {wall_added(cw, aw)}, {wall_added(dw, aw)})",
        "<= 0.5" if goal_udp else "",
        (share <= 0.5) if goal_udp and share is not None else None)
    ct, pt = num(f"p1.{mode}.c_tracer_cpu"), num(f"p1.{mode}.d_tracer_cpu")
    row(f"{head}: tracer process CPU per connect, record / perf record", f(div(ct, pt)),
        f"record {f(ct, ns)} ns, perf record {f(pt, ns)} ns (user-space consumer, other core)")
    # Peers beside perf: bpftrace (e) and sysdig (f).
    for x, name in (("e", "bpftrace"), ("f", "sysdig -w")):
        v = num(f"p1.{mode}.{x}")
        kept_x = num(f"p1.{mode}.{x}_captured", "min")
        lost_x = num(f"p1.{mode}.{x}_lost", "max")
        tcpu = num(f"p1.{mode}.{x}_tracer_cpu")
        ratio_row(
            f"{head}: {name} / none ({x}/a)", v, a, x, lambda: (
                f"CPU a {f(a, ns)}, {x} {f(v, ns)} ns/connect ({wall_added(v, a)}; "
                f"wall {x} {f(num(f'p1.{mode}.{x}_wall'), ns)}); record / {name} added cost "
                f"{f(div(added_c, v - a) if a is not None and v > a and (added_c or 0) > 0 else None)}; "
                f"{name} kept >= {f(kept_x, '{:,.0f}')} of the storm's {f(made, '{:,.0f}')} connects"
                + ("" if lost_x is None else f", its own lost count {lost_x:.0f}")
                + f"; its process {f(tcpu, ns)} ns CPU per connect (record {f(ct, ns)})"
                + spread(pre, x)), paired(pre, x))
    # The floor of every hook record attaches now (h) and record before
    # this build (i, CT_BASE): what the hooks added since cost beyond their
    # floor (following handshakes, and the DNS names' ingress hook).
    h, i = num(f"p1.{mode}.h"), num(f"p1.{mode}.i")
    # n/a when h (or c) has no run.
    ratio_row(f"{head}: record / empty BPF on all of record's hooks (c/h)",
              None if h is None else c, h, "h", lambda: (
                  f"CPU h {f(h, ns)}, c {f(c, ns)} ns; the added hooks' floor h-b "
                  f"{wall_added(h, b)} ns{spread(pre, 'c', 'h')}"), paired(pre, "c", "h"))
    tcp = mode.startswith("tcp")
    if i is None:
        row(f"{head}: record / record at base (c/i)", "n/a",
            peer_na["i"] or "no run succeeded (see the log)")
    else:
        ci = div(c, i)
        grew = None if c is None else c - i
        floor = None if h is None or b is None else max(h - b, 0)
        # The verdict pairs the four configurations within each round, so
        # that a round's drift cancels: (c-i)-(h-b), median over rounds.
        excess = paired_excess(pre, a)
        ok = None if excess is None or not tcp else excess[1] <= 0
        row(f"{head}: record / record at base (c/i)", f(ci),
            f"CPU base i {f(i, ns)}, this c {f(c, ns)} ns/connect: {f(grew, '{:+.0f}')} ns; "
            f"added hooks' floor {f(floor, ns)} ns; per round (c-i)-(h-b) "
            + ("n/a" if excess is None else
               f"min {excess[0]:+.0f}, median {excess[1]:+.0f}, max {excess[2]:+.0f} ns")
            + f"; base tracer process "
            f"{f(num(f'p1.{mode}.i_tracer_cpu'), ns)} ns per connect (this {f(ct, ns)})"
            f"{spread(pre, 'c', 'i')}",
            "c-i <= h-b (paired rounds)" if tcp else "", ok)
    # The same four configurations by the kernel's own account of their
    # programs (bpf_cost, kernel.bpf_stats_enabled): no round-to-round noise.
    bpf = {x: num(f"p1.{mode}.bpf.{x}") for x in "cihb"}
    if bpf["c"] is not None:
        def progs(x):
            key = f"p1.{mode}.bpf.{x}."
            per = sorted(((num(k), k[len(key):]) for k in samples if k.startswith(key)),
                         reverse=True)
            return ", ".join(f"{name} {v:.0f}" for v, name in per if v is not None and v >= 0.5)
        body_c = None if bpf["h"] is None else bpf["c"] - bpf["h"]
        body_i = None if bpf["i"] is None or bpf["b"] is None else bpf["i"] - bpf["b"]
        runs = len(samples.get(f"p1.{mode}.bpf.c", []))
        row(f"{head}: BPF programs' run time per connect, record / record at base "
            "(kernel.bpf_stats_enabled)", f(div(bpf["c"], bpf["i"])),
            f"this {bpf['c']:.0f} ns ({progs('c')}); base {f(bpf['i'], ns)} ns ({progs('i')}); "
            f"the same hooks with empty programs: record's {f(bpf['h'], ns)}, base's "
            f"{f(bpf['b'], ns)} ns; beyond them: this {f(body_c, '{:.0f}')}, base "
            f"{f(body_i, '{:.0f}')} ns, so this build's programs do "
            f"{f(None if body_c is None or body_i is None else body_c - body_i, '{:+.0f}')} ns "
            f"per connect more work than base's (median of {runs} storms each, after the "
            "timed rounds; the stats' own clock reads are in every figure alike)")
    elif text(f"p1.{mode}.bpf_na"):
        row(f"{head}: BPF programs' run time per connect (kernel.bpf_stats_enabled)", "n/a",
            text(f"p1.{mode}.bpf_na"))
    # P6b: a cgroup/connect4+6 program copying the same fields (bench only).
    g = num(f"p1.{mode}.g")
    ratio_row(f"{head}: P6b cgroup sock_addr program / none (g/a)", g, a, "g", lambda: (
        f"CPU a {f(a, ns)}, g {f(g, ns)}, record c {f(c, ns)} ns/connect: g adds "
        f"{wall_added(g, a)} ns, record {wall_added(c, a)} ns, empty tracepoint floor b "
        f"{wall_added(b, a)} ns{spread(pre, 'g')}"), paired(pre, "g"))

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

eb, el = num("p1.udp.e_bytes", "last"), num("p1.udp.e_lines", "last")
row("P2 size, storm trace: conntrail / bpftrace text output bytes per event",
    f(div(ct_bpe, div(eb, el)), "{:.3f}"),
    f"bpftrace {f(div(eb, el), '{:.1f}')} B/line ({f(el, '{:,.0f}')} lines, last UDP storm round)"
    if eb is not None else (peer_na["e"] or "n/a"))
fb, fe = num("p1.udp.f_bytes", "last"), num("p1.udp.f_events", "last")
row("P2 size, storm trace: conntrail / sysdig -w scap bytes per event",
    f(div(ct_bpe, div(fb, fe)), "{:.3f}"),
    f"sysdig {f(div(fb, fe), '{:.1f}')} B/event" if fb is not None else (peer_na["f"] or "n/a"))

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

# --jobs 1 and 2 side by side, from wall times (threads share CPU time).
jobs_events = num("p3.jobs_events", "last")
jobs_trace = f"{f(jobs_events, '{:,.0f}')}-event mixed trace"
for key, events, name, goal in (
        ("p4.full", big_events, "report, large trace", True),
        ("p3.jobs_script", jobs_events, f"script > /dev/null, {jobs_trace}", False),
        ("p3.jobs_convert", jobs_events, f"convert --to csv -o /dev/null, {jobs_trace}", False)):
    w1, w2 = num(f"{key}_j1_wall"), num(f"{key}_j2_wall")
    r1, r2 = per_s(events, w1), per_s(events, w2)
    x = div(w1, w2)
    nr = len(samples.get(f"{key}_j2_wall", []))
    # each round's own speed-up: its two runs were side by side
    s1 = [float(v) for v in samples.get(f"{key}_j1_wall", [])]
    s2 = [float(v) for v in samples.get(f"{key}_j2_wall", [])]
    rx = [a / b for a, b in zip(s1, s2) if b] if len(s1) == len(s2) else []
    # Two threads on this many cores: a speed-up past the cores (10% given
    # for the paths' own differences) is a measurement gone wrong.
    cores = num("machine.cores", "last") or 0
    if x is not None and cores and x > cores * 1.1:
        impossible.append(f"{name}: --jobs 2 {x:.2f}x --jobs 1 on {cores:.0f} cores")
        x = None
    row(f"P3 {name}: --jobs 2 / --jobs 1 (events/s of wall time)", f(x, "{:.2f}x"),
        f"--jobs 1 {rate(r1)}, --jobs 2 {rate(r2)}; peak RSS "
        f"{f(div(num(f'{key}_j1_rss', 'max'), 1024), '{:.1f}')} / "
        f"{f(div(num(f'{key}_j2_rss', 'max'), 1024), '{:.1f}')} MiB; median of {nr} alternating "
        f"rounds{span_text(rx, 'speed-up ')}",
        ">= 50 M/s and >= 1.8x" if goal else "",
        None if not goal or x is None or r2 is None else ok_all(r2 >= 50e6, x >= 1.8))

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

# ---------------------------------------------------------------- P9
p9n = num("p9.plain.packets", "last")
if p9n is not None:
    a, b, c = num("p9.plain.a"), num("p9.plain.b"), num("p9.plain.c")
    row("P9 DNS hook: non-DNS loopback packet, record (hook attached) / no recording, CPU ns",
        f(div(b, a), "{:.3f}"),
        f"none {f(a, '{:.0f}')}, record {f(b, '{:.0f}')}, record without the hook "
        f"(CONNTRAIL_NO_DNS=1) {f(c, '{:.0f}')}; {f(p9n, '{:,.0f}')} packets a round"
        f"{spread('p9.plain', 'b')}{spread('p9.plain', 'c')}")
    dn, ans, lost = num("p9.dns.packets", "last"), num("p9.dns.answers", "last"), num("p9.dns.lost", "last")
    row("P9 DNS storm while recording: answers stored / sent, lost", f(div(ans, dn), "{:.3f}"),
        f"{f(ans, '{:,.0f}')} name records of {f(dn, '{:,.0f}')} answers, {f(lost, '{:.0f}')} lost, "
        f"{f(num('p9.dns.cpu_ns_per_packet', 'last'), '{:.0f}')} ns CPU a packet", "0 lost",
        None if lost is None else (lost == 0 and ans == dn))

# ---------------------------------------------------------------- P8
p8n = num("p8.events", "last")
if p8n is not None:
    rb, js = per_s(p8n, num("p8.rowbinary_ns")), per_s(p8n, num("p8.jsonl_ns"))
    row(f"P8 load into ClickHouse {text('p8.ch_version')}: convert --to clickhouse (RowBinary) "
        "vs --to jsonl (JSONEachRow), events/s wall", f(div(rb, js), "{:.1f}x"),
        f"RowBinary {rate(rb)}, JSONEachRow {rate(js)} on {f(p8n, '{:,.0f}')} events; "
        f"{f(num('p8.ch_bytes', 'last'), '{:,.0f}')} bytes in MergeTree, "
        f"{f(num('p8.ctr_bytes', 'last'), '{:,.0f}')} in the trace")
    sq, rp = num("p8.sql_top_ns"), num("p8.report_top_ns")
    row("P8 top destinations: share/clickhouse/destinations.sql / report --by dest, wall",
        f(div(sq, rp), "{:.2f}"),
        f"SQL {f(div(sq, 1e6), '{:,.0f}')} ms, report {f(div(rp, 1e6), '{:,.0f}')} ms "
        f"on {f(p8n, '{:,.0f}')} events (one server, 2 threads)")

# ---------------------------------------------------------------- P6
p6a = num("p6.a")
if p6a is not None or any(k.startswith("p6.na.") for k in samples):
    calls = num("p6.calls", "last")
    rej6 = len(samples.get("p6.rejected.a", []))
    p6cfg = [("b", "empty BPF on sys_enter/exit_connect (floor)")]
    for be in ("tracepoint", "lsm", "fentry"):
        p6cfg.append((f"c_{be}", f"record --backend {be}"))
    p6cfg += [("d", "perf record -e sys_enter_connect,sys_exit_connect -a"), ("e", "bpftrace"),
              ("f", "sysdig -w"), ("g", "P6b cgroup/connect4+6 program (bench/cgconnect.bpf.c)")]
    for key, name in p6cfg:
        title = f"P6 getppid ({f(calls, '{:,.0f}')} calls) while {name} / none"
        v = num(f"p6.{key}")
        if v is None:
            be = key[2:] if key.startswith("c_") else None
            why = (text(f"p6.na.{be}") if be else peer_na.get(key)) or "no run succeeded (see the log)"
            row(title, "n/a", why)
            continue
        r, why = traced_ratio(v, p6a, title, paired("p6", key))
        fr = sum(1 for x in samples.get(f"p6.{key}_foreign", []) if x not in ("", "0"))
        fa = sum(1 for x in samples.get("p6.a_foreign", []) if x not in ("", "0"))
        if fa:
            why = (why + "; " if why else "") + (f"others' BPF tracers were on the connect tracepoints "
                                                   f"during {fa} no-tracing run(s): those paid the tax too")
        row(title, f(r, "{:.3f}"),
            (f"{why}; " if why else "") +
            f"CPU none {f(p6a, '{:.1f}')}, traced {f(v, '{:.1f}')} ns/call: "
            f"{'noise (< 0)' if v < p6a else f'+{v - p6a:.1f}'} ns a call "
            f"(wall {f(num('p6.a_wall'), '{:.0f}')}, {f(num(f'p6.{key}_wall'), '{:.0f}')})"
            + (f"; others' BPF tracers on connect during {fr} runs" if fr else "")
            + (f"; {rej6} round(s) rejected as noise and repeated" if rej6 and key == "b" else "")
            + spread("p6", key))

# ---------------------------------------------------------------- P7
# record --flush: each shorter interval against the default (1s), measured
# in alternating rounds of the same steady workload.
p7secs, p7rate = num("p7.secs", "last"), num("p7.rate", "last")
b1, c1, k1 = num("p7.1s.bytes_per_event"), num("p7.1s.cpu_ms_per_s"), num("p7.1s.chunks")
for fl in ("100ms", "10ms"):
    bf, cf, kf = (num(f"p7.{fl}.bytes_per_event"), num(f"p7.{fl}.cpu_ms_per_s"),
                  num(f"p7.{fl}.chunks"))
    if bf is None and b1 is None:
        continue
    wl = f"{f(p7rate, '{:.0f}')} connects/s for {f(p7secs, '{:g}')} s"
    row(f"P7 record --flush {fl} / 1s, trace bytes per event ({wl})", f(div(bf, b1)),
        f"{fl} {f(bf)} B/event in {f(kf, '{:.0f}')} event chunks, "
        f"1s {f(b1)} B/event in {f(k1, '{:.0f}')}; median of "
        f"{len(samples.get(f'p7.{fl}.bytes_per_event', []))} rounds")
    row(f"P7 record --flush {fl} / 1s, recorder CPU a second of recording ({wl})", f(div(cf, c1)),
        f"{fl} {f(cf)} ms/s, 1s {f(c1)} ms/s of CPU (polls, chunk writes and the events)")

# ---------------------------------------------------------------- P3/P4 base
base = text("machine.base")
if base:
    def base_spread(key, bkey):
        """Per-round ratios this/base (rounds alternate which runs first)."""
        return span_text([float(u) / float(v) for u, v in
                          zip(samples.get(key, []), samples.get(bkey, [])) if float(v)])

    ms = lambda v: f(div(v, 1e6), '{:,.1f}')
    for key, name in (("p3.report_ns", "P3 report, storm trace"), ("p3.script_ns", "P3 script, storm trace"),
                      ("p3.convert_ns", "P3 convert --to pcapng, storm trace"),
                      ("p3.convert_small_ns", "P3 convert --to pcapng, small trace"),
                      ("p4.full1_ns", "P4 report, large trace full scan, one thread each"),
                      ("p4.window_ns", "P4 one-minute window"), ("p4.rare_ns", "P4 rare address"),
                      ("p4.absent_ns", "P4 absent address")):
        bkey = key.replace(".", ".base.", 1)
        new, old = num(key), num(bkey)
        extra = ""
        if key == "p4.full1_ns":
            extra = (f"; this build --jobs 1 against the base, which has no threads; by default "
                     f"(threads) {ms(num('p4.full_ns'))} ms CPU, wall {ms(num('p4.full_ns_wall'))} "
                     f"ms against the base's {ms(num(bkey + '_wall'))} ms")
        row(f"{name}: this build / base, CPU time", f(div(new, old), "{:.3f}"),
            f"this {ms(new)} ms, base {ms(old)} ms CPU (wall {ms(num(key + '_wall'))}, "
            f"{ms(num(bkey + '_wall'))} ms){extra}{base_spread(key, bkey)}",
            "<= 1.05 (no slower)", None if div(new, old) is None else div(new, old) <= 1.05)

# ---------------------------------------------------------------- P5
rec_rss = num("p5.record_rss_kib.udp", "max")
perf_rss = num("p5.perf_rss_kib.udp", "max")
row("P5 peak RSS, record / perf record (UDP storm)", f(div(rec_rss, perf_rss)),
    f"record {f(div(rec_rss, 1024), '{:.1f}')} MiB, perf record {f(div(perf_rss, 1024), '{:.1f}')} MiB",
    "<= 32 MiB", None if rec_rss is None else rec_rss <= 32 * 1024)
bt_rss = num("p5.bpftrace_rss_kib.udp", "max")
row("P5 peak RSS, record / bpftrace (UDP storm)", f(div(rec_rss, bt_rss)),
    f"bpftrace {f(div(bt_rss, 1024), '{:.1f}')} MiB" if bt_rss else (peer_na["e"] or "n/a"))
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
    f"{machine.get('rounds', '?')} alternating rounds (medians), load at start {machine.get('load', '?')}"
    + (f"; base for P3/P4: {machine['base']}" if machine.get("base") else ""),
    "",
    "a = no tracing, b = empty BPF program on sys_enter/exit_connect, "
    "c = conntrail record (system-wide, zstd), d = perf record -e syscalls:sys_enter_connect -a "
    "(P6: both connect tracepoints), e = bpftrace on sys_enter/exit_connect printing a line per "
    "connect to a file, f = sysdig -w FILE evt.type=connect, g = cgroup/connect4+connect6 BPF "
    "programs on the cgroup v2 root copying the tracepoint backend's fields into a drained ring "
    "buffer (bench only, P6b), h = empty BPF on every hook record's tracepoint backend attaches: "
    "the connect tracepoints, sock:inet_sock_set_state + inet_sk_error_report (handshakes) and "
    "cgroup_skb/ingress on the cgroup v2 root (DNS names), "
    "i = conntrail record built at CT_BASE (the commit before a change), in the same rounds. "
    "P1 figures are CPU time of the connecting thread per connect (wall in brackets); P6 is CPU "
    "time per getppid(); read speeds are events per CPU second of the reader. A traced figure "
    "below no tracing cannot be true: such a round is rejected and repeated, as is one whose "
    "no-tracing baseline moved more than BENCH_DRIFT (25%) from the kept rounds' median; a "
    "median that still is below by more than BENCH_TIE (2%), both as medians and as the median "
    "of the rounds' own ratios, gets no ratio and fails the run (within it: a tie, shown as "
    "1.00); so does a --jobs 2 speed-up past the cores (10% given). Ratios show the per-round "
    "min, median and max of the kept rounds. Reads of tens of milliseconds (P3 on the storm "
    "and small traces, P4's three queries) count, in each round, the median of 5 runs in a "
    "row (3 for the storm's pcapng).",
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
    "loopback listener drained by an accept thread, SO_LINGER 0 so no TIME_WAIT piles up; "
    "blocking, and non-blocking (connect returns EINPROGRESS, then poll for POLLOUT and SO_ERROR).",
    "perf is started disabled and enabled through its control fifo, record is waited for until "
    "it prints its backend or creates its file (both after its own probe connect was seen), bpftrace "
    "until its BEGIN probe printed, so none misses the start.",
    f"tshark reads a smaller generated trace's pcapng ({f(num('p3.small_events', 'last'), '{:,.0f}')} "
    "events) because it reads 20-100x slower; conntrail convert is timed on the same file and on "
    "the storm.",
    "P4 reads the mixed-profile generated trace; the window is the trace's middle minute.",
    "P6: bench/sysloop.c, getppid() via syscall(2) in a loop after 100,000 untimed calls, run "
    "under each configuration; record once per backend this kernel loads.",
    "P6b (g) can give: ts, pid, tid, ppid, uid, gid, comm, cgroup id, family, type, protocol, "
    "IPv4/IPv6 address and port (the kernel's copy). It cannot give: sockfd, connect's return value "
    "and latency (no exit hook; that needs fexit or sys_exit_connect), the IPv6 scope id, UNIX "
    "sockets (cgroup/connect_unix only since 6.7), connects that fail before the hook.",
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

if impossible:
    sys.stderr.write("bench: FAILED, figures that cannot be true (a traced run cheaper than its "
                     "floor even after repeated rounds, or threads faster than the cores allow; "
                     "rerun on a quieter machine):\n")
    for line in impossible:
        sys.stderr.write(f"  {line}\n")
    sys.exit(3)
