#!/usr/bin/env python3
"""swoffcpu under load: a target that saturates every CPU with switches, traced for a minute.

  python3 scripts/bench/load.py [--threads 10000] [--work 2000] [--seconds 60] [--rounds 1]
                                [--swoffcpu PATH | --no-build] [-- swoffcpu options...]

Target: scripts/bench/load.c, THREADS threads in futex ping-pong pairs, each turn a
short busy loop (a work unit): the run queues never empty, every unit ends with a
voluntary switch and a wakeup. Runs it untraced and traced by the release build
(`swift build -c release --static-swift-stdlib`, as bench.py builds it), alternating
(--rounds pairs, the order swapped every round), and reports per run:

- throughput: work units per second over the measured window (from the target's own
  count), and traced / untraced;
- the machine's context switches per second (/proc/stat ctxt) over the window;
- swoffcpu: VmRSS and VmHWM sampled every second (is it bounded?), CPU time, the time
  from SIGINT to exit (report written), and the drops and `lost` counters of its JSON.

Root. Prints a markdown summary to stdout and writes it, with the raw numbers as JSON,
under out/. See docs/performance.md ("Under load").
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (Target, Tracer, build_swoffcpu, read_report)

ROOT = bench.ROOT


def log(msg):
    print(f"load: {msg}", file=sys.stderr, flush=True)


def ctxt():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("ctxt "):
                return int(line.split()[1])
    return 0


def proc_status(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            st = dict(l.split(":", 1) for l in f if ":" in l)
        return {k: int(st[k].split()[0]) for k in ("VmRSS", "VmHWM") if k in st}
    except (OSError, ValueError):
        return {}


def report(target):
    target.send("report\n")
    f = target.readline(30).split()
    if len(f) != 4 or f[0] != "units":
        raise RuntimeError(f"unexpected answer from the target: {' '.join(f)!r}")
    return int(f[1]), float(f[3])


def one_run(args, exe, sw, workdir, traced, tag):
    r = {"traced": traced, "tag": tag}
    log(f"{tag}: starting {args.threads:,} threads")
    t_start = time.monotonic()
    # setsid: the target in a session (so an autogroup) of its own, as a program started
    # from another terminal is. In the tracer's autogroup its 5,000 runnable threads leave
    # the tracer (and this script) 1/5,000 of the CPUs: swoffcpu got 1.7 s of CPU in a
    # 60 s trace and had not written its report 300 s after SIGINT (docs/performance.md).
    target = bench.Target((["setsid"] if not args.same_session else []) + [exe, str(args.threads), str(args.work)])
    r["target_start_s"] = time.monotonic() - t_start
    tracer = None
    jpath = os.path.join(workdir, f"{tag}.json")
    try:
        if traced:
            tracer = bench.Tracer([sw, "-p", str(target.pid), "--json", jpath] + args.swoffcpu_args,
                                  bench.SWOFFCPU_LINKS, workdir, tag)
            tracer.wait_attached(args.settle)
            r["attach_s"] = tracer.attach_s
        target.send("go\n")
        time.sleep(args.warmup)
        u0, s0 = report(target)
        c0, m0 = ctxt(), time.monotonic()
        samples = []
        while time.monotonic() - m0 < args.seconds:
            time.sleep(min(1.0, max(0.0, args.seconds - (time.monotonic() - m0))))
            if tracer:
                tracer.sample_hwm()
                st = proc_status(tracer.proc.pid)
                samples.append((round(time.monotonic() - m0, 1), st.get("VmRSS", 0), st.get("VmHWM", 0)))
        u1, s1 = report(target)
        c1, m1 = ctxt(), time.monotonic()
        r["units"] = u1 - u0
        r["seconds"] = s1 - s0
        r["units_per_s"] = (u1 - u0) / (s1 - s0)
        r["machine_switches_per_s"] = (c1 - c0) / (m1 - m0)
        r["loadavg"] = bench.loadavg()
        if tracer:
            r["rss_samples_kb"] = samples
            tracer.stop(timeout=args.stop_timeout)
            r["exit"] = tracer.exit_code
            r["stop_s"] = tracer.stop_s
            r["hwm_mb"] = tracer.hwm_kb / 1024
            r["cpu_s"] = tracer.rusage.ru_utime + tracer.rusage.ru_stime
            if tracer.exit_code != 0:
                r["error"] = tracer.stderr_tail()
            r["stderr"] = tracer.stderr_tail(2000)
    except Exception as e:
        r["error"] = str(e)
        log(f"{tag}: FAILED {e}")
    finally:
        if tracer:
            tracer.kill()
        r["target_end"] = target.finish()
    if traced:
        rep = bench.read_report(jpath, os.devnull)
        rep.pop("folded_lines", None)
        r["report"] = rep
        try:
            with open(jpath) as f:
                j = json.load(f)
            r["lock_drops"] = j.get("lock_drops")
            r["report"]["processes"] = [(p.get("pid"), len(p.get("threads", [])), p.get("on_cpu_ns", 0) / 1e9,
                                         p.get("runnable_ns", 0) / 1e9, p.get("blocked_ns", 0) / 1e9)
                                        for p in j.get("processes", [])]
        except (OSError, ValueError):
            pass
    log(f"{tag}: {r.get('units_per_s', 0):,.0f} units/s, machine {r.get('machine_switches_per_s', 0):,.0f} "
        f"switches/s" + (f", swoffcpu peak RSS {r.get('hwm_mb', 0):.0f} MB, stop {r.get('stop_s', float('nan')):.2f} s, "
                         f"drops {r.get('report', {}).get('drops')}" if traced else ""))
    return r


def summary(args, runs, sw):
    un = [r for r in runs if not r["traced"] and "units_per_s" in r]
    tr = [r for r in runs if r["traced"] and "units_per_s" in r]
    lines = [f"# swoffcpu under load ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)", "",
             bench.machine_info(sw), "",
             f"Target: `load {args.threads} {args.work}` ({args.threads // 2:,} futex ping-pong pairs, "
             f"{args.work} busy-loop iterations a unit); {args.seconds:.0f} s measured after {args.warmup:.0f} s "
             f"of warm-up; swoffcpu options: `{' '.join(args.swoffcpu_args) or '(defaults)'}`; target "
             f"{'in the tracer’s session (one autogroup)' if args.same_session else 'in a session of its own (setsid)'}.", "",
             "| run | units/s | machine switches/s | swoffcpu peak RSS (MB) | swoffcpu CPU (s) "
             "| SIGINT → exit (s) | threads in report | switch-outs in report | drops | load avg |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in runs:
        rep = r.get("report", {})
        lines.append(f"| {r['tag']} | {r.get('units_per_s', float('nan')):,.0f} "
                     f"| {r.get('machine_switches_per_s', float('nan')):,.0f} "
                     f"| {r.get('hwm_mb', float('nan')):.0f} | {r.get('cpu_s', float('nan')):.1f} "
                     f"| {r.get('stop_s', float('nan')):.2f} | {rep.get('threads', '')} | {rep.get('switches', '')} "
                     f"| {json.dumps(rep.get('drops')) if r['traced'] else ''} | {r.get('loadavg', '')} |")
    lines.append("")
    if un and tr:
        ratio = statistics.median(r["units_per_s"] for r in tr) / statistics.median(r["units_per_s"] for r in un)
        lines.append(f"Throughput traced / untraced (medians): **{ratio:.3f}** "
                     f"({(1 - ratio) * 100:+.1f} % cost).")
    for r in tr:
        s = r.get("rss_samples_kb", [])
        if s:
            third = max(1, len(s) // 3)
            first = max(x[1] for x in s[:third]) / 1024
            last = max(x[1] for x in s[-third:]) / 1024
            lines.append(f"- {r['tag']}: VmRSS max {first:.0f} MB in the first third of the window, "
                         f"{last:.0f} MB in the last; VmHWM {s[-1][2] / 1024:.0f} MB at the end "
                         f"({len(s)} samples, 1 s apart); lost {json.dumps(rep_lost(r))}; "
                         f"switches_recovered {r.get('report', {}).get('switches_recovered')}; "
                         f"lock_drops {json.dumps(r.get('lock_drops'))}; exit {bench.fmt_exit(r.get('exit'))}")
        if r.get("error"):
            lines.append(f"- {r['tag']}: error: {r['error'][:300]}")
    return "\n".join(lines) + "\n"


def rep_lost(r):
    return r.get("report", {}).get("lost")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=10000)
    ap.add_argument("--work", type=int, default=2000, help="busy-loop iterations a work unit (default 2000)")
    ap.add_argument("--seconds", type=float, default=60, help="measured window of each run (default 60)")
    ap.add_argument("--warmup", type=float, default=2, help="seconds after go before measuring (default 2)")
    ap.add_argument("--rounds", type=int, default=1, help="untraced/traced pairs, alternating (default 1)")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds after attach before go")
    ap.add_argument("--stop-timeout", type=float, default=300)
    ap.add_argument("--same-session", action="store_true",
                    help="run the target in this script's session (and autogroup), not a new one")
    ap.add_argument("--swoffcpu", help="swoffcpu binary to use (default: build the release one)")
    ap.add_argument("--no-build", action="store_true", help="use the existing .build-bench release binary")
    ap.add_argument("--build-retries", type=int, default=0)
    ap.add_argument("swoffcpu_args", nargs="*", help="extra swoffcpu options (after --)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("load: run as root")
    sw = bench.build_swoffcpu(args)
    workdir = tempfile.mkdtemp(prefix="swoffcpu-load-")
    exe = os.path.join(workdir, "load")
    subprocess.run(["gcc", "-O2", "-Wall", "-pthread", "-fno-omit-frame-pointer", "-o", exe,
                    os.path.join(bench.BENCH_DIR, "load.c")], check=True)
    runs = []
    for i in range(args.rounds):
        order = [False, True] if i % 2 == 0 else [True, False]
        for traced in order:
            runs.append(one_run(args, exe, sw, workdir, traced, f"{'traced' if traced else 'untraced'}-{i + 1}"))
    text = summary(args, runs, sw)
    print(text)
    outdir = os.path.join(ROOT, "out")
    os.makedirs(outdir, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(outdir, f"load-{stamp}.md"), "w") as f:
        f.write(text)
    with open(os.path.join(outdir, f"load-{stamp}.json"), "w") as f:
        json.dump({"args": vars(args), "runs": runs}, f, indent=1, default=str)
    log(f"wrote out/load-{stamp}.md and .json (work files in {workdir})")


if __name__ == "__main__":
    main()
