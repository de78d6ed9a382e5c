#!/usr/bin/env python3
"""Cost of reading Python frames (docs/python.md): a Python ping-pong (py_pingpong.py, two
threads handing a token through two threading.Locks, pinned to one CPU) run untraced,
traced with native frames only (--no-python) and traced with Python frames, in alternating
rounds: its round trips per second, and its CPU time per context switch (rusage of the
whole process: the programs run at its switches and are charged to its threads); and the
sched_switch program's average run time where the kernel counts it (kernel.bpf_stats_enabled).
Root. Usage: scripts/bench/python.py [--rounds 5] [--loops 20000] [--python /usr/bin/python3]
[--all-stacks]"""
import argparse
import glob
import json
import os
import signal
import statistics
import subprocess
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def prog_stats(pid):
    """(run_cnt, run_time_ns) of the on_switch program swoffcpu `pid` holds (its fdinfo)."""
    names = {}
    out = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True, text=True).stdout
    for p in json.loads(out or "[]"):
        names[p.get("id")] = p.get("name")
    for path in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            with open(path) as f:
                d = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        d = {k.strip(): v.strip() for k, v in d.items()}
        if "prog_id" in d and "link_id" not in d and names.get(int(d["prog_id"])) == "on_switch":
            return int(d.get("run_cnt", 0)), int(d.get("run_time_ns", 0))
    return None


def one(args, mode):
    w = subprocess.Popen(["taskset", "-c", str(args.cpu), args.python, os.path.join(root, "scripts/bench/py_pingpong.py"), str(args.loops)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert w.stdout.readline().strip() == "ready"
    tracer = None
    if mode != "untraced":
        argv = [args.swoffcpu, "-p", str(w.pid), "-d", "600", "--folded", "-"]
        if mode == "native":
            argv.append("--no-python")
        if args.all_stacks:
            argv.append("--all-stacks")
        tracer = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while prog_stats(tracer.pid) is None:
            if time.time() > deadline or tracer.poll() is not None:
                sys.exit(f"python bench: {' '.join(argv)} did not start")
            time.sleep(0.1)
        time.sleep(args.settle)
    before = prog_stats(tracer.pid) if tracer else None
    w.stdin.write("go\n")
    w.stdin.flush()
    seconds = float(w.stdout.readline())
    after = prog_stats(tracer.pid) if tracer else None
    _, _, ru = os.wait4(w.pid, 0)
    w.returncode = 0
    cpu_per_switch = (ru.ru_utime + ru.ru_stime) * 1e9 / max(1, ru.ru_nvcsw + ru.ru_nivcsw)
    per_event = None
    if before and after and after[0] > before[0]:
        per_event = (after[1] - before[1]) / (after[0] - before[0])
    if tracer:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=120)
    return seconds, per_event, cpu_per_switch


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--loops", type=int, default=20000)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--swoffcpu", default=os.path.join(root, ".build/release/swoffcpu"))
    ap.add_argument("--settle", type=float, default=0.3)
    ap.add_argument("--cpu", type=int, default=1, help="CPU both ping-pong threads are pinned to")
    ap.add_argument("--all-stacks", action="store_true", help="walk every switch-out (the worst case)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("python bench: run as root")
    stats = "/proc/sys/kernel/bpf_stats_enabled"
    with open(stats) as f:
        old = f.read().strip()
    with open(stats, "w") as f:
        f.write("1")
    try:
        run(args)
    finally:
        with open(stats, "w") as f:
            f.write(old)


def run(args):
    modes = ["untraced", "native", "python"]
    res = {m: [] for m in modes}
    ns = {m: [] for m in modes}
    cps = {m: [] for m in modes}
    for r in range(args.rounds):
        order = modes if r % 2 == 0 else list(reversed(modes))
        for m in order:
            s, e, c = one(args, m)
            res[m].append(s)
            cps[m].append(c)
            if e:
                ns[m].append(e)
            print(f"round {r + 1} {m}: {args.loops / s:,.0f} round trips/s, {c:,.0f} CPU ns per context switch"
                  + (f", on_switch {e:.0f} ns" if e else ""),
                  file=sys.stderr)
    base = statistics.median(res["untraced"])
    cbase = statistics.median(cps["untraced"])
    print(f"| mode | round trips/s (median of {args.rounds}) | vs untraced | CPU ns per context switch (median) "
          f"| vs untraced | on_switch ns/run (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for m in modes:
        med = statistics.median(res[m])
        c = statistics.median(cps[m])
        per = f"{statistics.median(ns[m]):.0f}" if ns[m] else "-"
        print(f"| {m} | {args.loops / med:,.0f} | {args.loops / med / (args.loops / base):.3f} | {c:,.0f} | {c / cbase:.3f} | {per} |")


main()
