#!/usr/bin/env python3
"""Cost of reading Python frames (docs/python.md): a Python ping-pong (py_pingpong.py, two
threads handing a token through two threading.Locks) timed untraced, traced with native
frames only (--no-python) and traced with Python frames, in alternating rounds; and the
sched_switch program's average run time in each traced mode (kernel.bpf_stats_enabled).
Root. Usage: scripts/bench/python.py [--rounds 5] [--loops 20000] [--python /usr/bin/python3]
[--all-stacks]"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def prog_stats(pid):
    """(run_cnt, run_time_ns) of the on_switch program of swoffcpu `pid`."""
    out = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True, text=True).stdout
    for p in json.loads(out or "[]"):
        if p.get("name") == "on_switch" and any(x.get("pid") == pid for x in p.get("pids", [])):
            return p.get("run_cnt", 0), p.get("run_time_ns", 0)
    return None


def one(args, mode):
    w = subprocess.Popen([args.python, os.path.join(root, "scripts/bench/py_pingpong.py"), str(args.loops)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert w.stdout.readline().strip() == "ready"
    tracer = None
    if mode != "untraced":
        argv = [args.swoffcpu, "-p", str(w.pid), "-d", "600", "--folded", "/dev/null"]
        if mode == "native":
            argv.append("--no-python")
        if args.all_stacks:
            argv.append("--all-stacks")
        tracer = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while prog_stats(tracer.pid) is None and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(args.settle)
    before = prog_stats(tracer.pid) if tracer else None
    w.stdin.write("go\n")
    w.stdin.flush()
    seconds = float(w.stdout.readline())
    after = prog_stats(tracer.pid) if tracer else None
    w.wait()
    per_event = None
    if before and after and after[0] > before[0]:
        per_event = (after[1] - before[1]) / (after[0] - before[0])
    if tracer:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=120)
    return seconds, per_event


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--loops", type=int, default=20000)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--swoffcpu", default=os.path.join(root, ".build/release/swoffcpu"))
    ap.add_argument("--settle", type=float, default=0.3)
    ap.add_argument("--all-stacks", action="store_true", help="walk every switch-out (the worst case)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("python bench: run as root")
    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=1"], check=False)
    modes = ["untraced", "native", "python"]
    res = {m: [] for m in modes}
    ns = {m: [] for m in modes}
    for r in range(args.rounds):
        order = modes if r % 2 == 0 else list(reversed(modes))
        for m in order:
            s, e = one(args, m)
            res[m].append(s)
            if e:
                ns[m].append(e)
            print(f"round {r + 1} {m}: {args.loops / s:,.0f} round trips/s" + (f", on_switch {e:.0f} ns" if e else ""),
                  file=sys.stderr)
    base = statistics.median(res["untraced"])
    print(f"| mode | round trips/s (median of {args.rounds}) | vs untraced | on_switch ns/run (median) |")
    print("|---|---|---|---|")
    for m in modes:
        med = statistics.median(res[m])
        per = f"{statistics.median(ns[m]):.0f}" if ns[m] else "-"
        print(f"| {m} | {args.loops / med:,.0f} | {base / med:.3f} | {per} |")


main()
