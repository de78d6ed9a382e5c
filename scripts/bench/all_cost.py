#!/usr/bin/env python3
"""What `swoffcpu -a` costs the whole machine (docs/performance.md, "Cost of -a").

The pipe benchmark (bench.sh --modes ...,all,allnostacks) times one workload's switches;
with -a every switch of every task goes through the accounting, so this measures the
machine: for each mode, alternating over rounds, swoffcpu runs for --seconds with
kernel.bpf_stats_enabled=1 and the script reads, over the same seconds, the machine's
context switches (/proc/stat ctxt), the tracer's BPF programs' run time and runs (its
fds' fdinfo), its maps' memory (memlock), then stops it with SIGINT and times the stop
(report written) and its peak RSS (VmHWM, polled).

Modes: `-p SLEEP` (a process that never runs: every switch takes the untraced path),
`-a --no-stacks`, `-a`. Root. Usage: scripts/bench/all_cost.py [--swoffcpu BIN]
[--rounds 3] [--seconds 5]
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import bpf_fdinfo  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ctxt():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("ctxt "):
                return int(line.split()[1])
    return 0


def hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def prog_totals(pid):
    progs, maps, links = bpf_fdinfo(pid)
    run_ns = sum(int(p.get("run_time_ns", 0)) for p in progs.values())
    runs = sum(int(p.get("run_cnt", 0)) for p in progs.values())
    memlock = sum(int(m.get("memlock", 0)) for m in maps.values())
    return run_ns, runs, memlock, len(links)


def one(sw, args_, seconds):
    tracer = subprocess.Popen([sw] + args_, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and prog_totals(tracer.pid)[3] < 1:
            time.sleep(0.05)
        time.sleep(1.0)  # seeding, the seed iterators' runs
        peak = hwm(tracer.pid)
        r0, c0, _, _ = prog_totals(tracer.pid)
        x0, t0 = ctxt(), time.monotonic()
        while time.monotonic() < t0 + seconds:
            peak = max(peak, hwm(tracer.pid))
            time.sleep(0.1)
        r1, c1, memlock, _ = prog_totals(tracer.pid)
        x1, t1 = ctxt(), time.monotonic()
        s0 = time.monotonic()
        tracer.send_signal(signal.SIGINT)
        while tracer.poll() is None:
            peak = max(peak, hwm(tracer.pid))
            time.sleep(0.005)
        stop = time.monotonic() - s0
        wall = t1 - t0
        return {"switches_per_s": (x1 - x0) / wall, "bpf_ns_per_s": (r1 - r0) / wall,
                "ns_per_run": (r1 - r0) / max(c1 - c0, 1), "bpf_ns_per_switch": (r1 - r0) / max(x1 - x0, 1), "runs_per_switch": (c1 - c0) / max(x1 - x0, 1),
                "memlock": memlock, "stop_s": stop, "peak_rss": peak, "exit": tracer.returncode}
    finally:
        if tracer.poll() is None:
            tracer.kill()
            tracer.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swoffcpu", default=os.path.join(ROOT, ".build-bench", "release", "swoffcpu"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("all_cost: run as root")
    sleeper = subprocess.Popen(["sleep", "100000"])
    modes = [("`-p SLEEP` (untraced path)", ["-p", str(sleeper.pid)]),
             ("`-a --no-stacks`", ["-a", "--no-stacks"]), ("`-a`", ["-a"])]
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        old = f.read().strip()
    res = {m[0]: [] for m in modes}
    ncpu = os.cpu_count()
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("1")
        for rnd in range(args.rounds):
            for label, a in modes[rnd % len(modes):] + modes[:rnd % len(modes)]:
                r = one(args.swoffcpu, a, args.seconds)
                res[label].append(r)
                print(f"all_cost: round {rnd + 1} {label}: {r['switches_per_s']:.0f} switches/s, "
                      f"{r['ns_per_run']:.0f} ns/run, {r['bpf_ns_per_s'] / 1e6:.2f} ms BPF per s, stop {r['stop_s']:.2f} s",
                      file=sys.stderr)
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old)
        sleeper.kill()
        sleeper.wait()

    def med(label, key):
        return statistics.median(r[key] for r in res[label])
    print(f"`scripts/bench/all_cost.py --rounds {args.rounds} --seconds {args.seconds:g}`, {ncpu} CPUs, "
          f"medians over rounds:\n")
    print("| mode | machine switches/s | BPF runs per switch | ns per run | BPF ns per switch "
          "| BPF CPU time per s (share of the machine) | kernel map memory | SIGINT → exit | peak RSS | exits |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, _ in modes:
        bpf = med(label, "bpf_ns_per_s")
        print(f"| {label} | {med(label, 'switches_per_s'):,.0f} | {med(label, 'runs_per_switch'):.2f} "
              f"| {med(label, 'ns_per_run'):.0f} | {med(label, 'bpf_ns_per_switch'):.0f} | {bpf / 1e6:.2f} ms ({bpf / (ncpu * 1e9) * 100:.2f} %) "
              f"| {med(label, 'memlock') / 2**20:.1f} MiB | {med(label, 'stop_s'):.2f} s "
              f"| {med(label, 'peak_rss') / 2**20:.0f} MB | {', '.join(str(r['exit']) for r in res[label])} |")


if __name__ == "__main__":
    main()
