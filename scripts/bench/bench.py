#!/usr/bin/env python3
"""swoffcpu benchmark: overhead, BPF cost per event, scale. See docs/performance.md.

Run through scripts/bench.sh (root). Prints one markdown document to stdout and
saves it under out/ (progress goes to stderr).
"""
import argparse
import datetime
import glob
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH_DIR = os.path.join(ROOT, "scripts", "bench")
OFFCPUTIME = "/usr/sbin/offcputime"
PERF = "/usr/bin/perf"  # Debian's linux-perf: `perf sched record`, the timeline's anchor
PERF_EVENTS = "perf"  # expected links of perf: it holds perf events, not BPF links (see wait_attached)
MODE_FILTER = set()  # --modes: the overhead modes to run (empty: all)
BENCH_TMP = tempfile.gettempdir()  # the work directory, once main() made it: tracers' output files
PACKAGES = ["bpftool", "linux-perf", "libbpf-tools", "gcc", "util-linux"]
# Tracepoint links a tracer holds once attached, at least. swoffcpu's number changes as
# it grows (3 today: sched_switch, sched_waking (with stacks), sched_process_fork),
# so attach is "at least this many, and no new one for 60 ms".
SWOFFCPU_LINKS = 1
OFFCPUTIME_LINKS = 1  # sched_switch


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- setup

def ensure_packages():
    missing = []
    for p in PACKAGES:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
        if "install ok installed" not in r.stdout:
            missing.append(p)
    if missing:
        log(f"installing {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                       check=True, env=env, stdout=sys.stderr)
    for tool in (OFFCPUTIME, shutil.which("bpftool"), shutil.which("gcc"), shutil.which("taskset")):
        if not tool or not os.path.exists(tool):
            sys.exit(f"bench: missing {tool} after installing {' '.join(PACKAGES)}")


def build_swoffcpu(args):
    if args.swoffcpu:
        if not os.access(args.swoffcpu, os.X_OK):
            sys.exit(f"bench: {args.swoffcpu} is not an executable")
        return os.path.abspath(args.swoffcpu)
    scratch = os.path.join(ROOT, ".build-bench")
    binary = os.path.join(scratch, "release", "swoffcpu")
    if args.no_build:
        if not os.access(binary, os.X_OK):
            sys.exit(f"bench: --no-build but {binary} does not exist")
        return binary
    if not shutil.which("swift"):
        os.environ["PATH"] = "/opt/swift/usr/bin:" + os.environ.get("PATH", "")
    subprocess.run([os.path.join(ROOT, "scripts", "install-deps.sh")], check=False, stdout=sys.stderr)
    cmd = ["swift", "build", "--package-path", ROOT, "-c", "release", "--static-swift-stdlib",
           "--scratch-path", scratch]
    for attempt in range(args.build_retries + 1):
        log(f"building swoffcpu (release) in {scratch}")
        r = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr)
        if r.returncode == 0:
            return binary
        if attempt < args.build_retries:
            log("build failed (the tree may be mid-edit); retrying in 60 s")
            time.sleep(60)
    if os.access(binary, os.X_OK):
        log(f"WARNING: build failed; using the previous build {binary}")
        return binary
    sys.exit("bench: swoffcpu does not build")


NO_FRAME_POINTERS = False
UNWIND_MODES = False
SCALE_ARGS = []


def compile_workloads(workdir):
    """Builds the C workloads with frame pointers (as a program whose stacks are wanted would be).

    Without them, gcc -O2 uses rbp as a general register and a frame-pointer walk
    through glibc's leaf functions follows whatever it holds: e.g. the sleep length
    in sleepers.c becomes a "frame", and every distinct value a distinct stack
    (see docs/performance.md, "Programs built without frame pointers").
    """
    out = {}
    # --no-frame-pointers: built as most programs are, which the DWARF unwinder is for
    # (docs/unwinding.md).
    fp = ["-fomit-frame-pointer"] if NO_FRAME_POINTERS else ["-fno-omit-frame-pointer"]
    specs = {
        "pingpong": ["gcc", "-O2", "-Wall", "-pthread"] + fp,
        "sleepers": ["gcc", "-O2", "-Wall", "-pthread"] + fp,
        "churn": ["gcc", "-O2", "-Wall", "-pthread"] + fp,
        # no tail calls, no inlining: every level of the recursion is a frame
        "stacks": ["gcc", "-O1", "-g", "-Wall", "-pthread", "-fno-optimize-sibling-calls", "-fno-inline"] + fp,
    }
    for name, cc in specs.items():
        exe = os.path.join(workdir, name)
        subprocess.run(cc + ["-o", exe, os.path.join(BENCH_DIR, name + ".c")], check=True)
        out[name] = exe
    return out


# ---------------------------------------------------------------- processes

class Target:
    """A workload: prints 'ready PID', takes 'go' on stdin, exits at EOF on stdin."""

    def __init__(self, argv, cpu=None, nice=None):
        prefix = []
        if nice:
            prefix += ["nice", "-n", str(nice)]
        if cpu is not None:
            prefix += ["taskset", "-c", str(cpu)]
        self.proc = subprocess.Popen(prefix + argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     bufsize=0)
        self.buf = b""
        line = self.readline(60)
        if not line.startswith("ready "):
            self.kill()
            raise RuntimeError(f"{argv[0]} did not start: {line!r}")
        self.pid = int(line.split()[1])

    def readline(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("workload did not answer in time")
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def finish(self, timeout=60):
        """Closes stdin (the workload exits) and returns what it printed last."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        rest = ""
        try:
            rest = self.readline(timeout)
        except (TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        return rest

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def bpf_fdinfo(pid):
    """The BPF objects a process holds, from /proc/PID/fdinfo: progs, maps, links (deduplicated)."""
    progs, maps, links = {}, {}, {}
    for path in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        d = {}
        for line in text.splitlines():
            k, sep, v = line.partition(":")
            if sep:
                d[k.strip()] = v.strip()
        if "link_id" in d:
            links[int(d["link_id"])] = d
        elif "prog_id" in d:
            progs[int(d["prog_id"])] = d
        elif "map_id" in d:
            maps[int(d["map_id"])] = d
    return progs, maps, links


def perf_event_fds(pid):
    """How many perf events a process holds (its fds on anon_inode:[perf_event])."""
    n = 0
    for fd in glob.glob(f"/proc/{pid}/fd/*"):
        try:
            if os.readlink(fd) == "anon_inode:[perf_event]":
                n += 1
        except OSError:
            pass
    return n


def foreign_sched_links(own_pid=None):
    """Links on sched_switch held by processes other than own_pid: other people's tracers,
    whose programs run at every switch of the machine, the untraced runs included."""
    own = set(bpf_fdinfo(own_pid)[2]) if own_pid else set()
    try:
        r = subprocess.run(["bpftool", "link", "show", "-j"], capture_output=True, text=True, timeout=30)
        links = json.loads(r.stdout or "[]")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return -1
    return sum(1 for l in links if l.get("tp_name") == "sched_switch" and l.get("id") not in own)


def bpftool_names(kind):
    """id -> name for every prog or map (bpftool prog|map show -j)."""
    try:
        r = subprocess.run(["bpftool", kind, "show", "-j"], capture_output=True, text=True, timeout=30)
        return {o["id"]: o.get("name", "?") for o in json.loads(r.stdout or "[]")}
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}


class Tracer:
    """A tracer process, stopped with SIGINT; its exit status, stop time and rusage are kept."""

    def __init__(self, argv, expected_links, outdir, tag):
        self.argv = argv
        self.out_path = os.path.join(outdir, f"{tag}.out")
        self.err_path = os.path.join(outdir, f"{tag}.err")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(self.out_path, "w"),
                                     stderr=open(self.err_path, "w"))
        self.expected_links = expected_links
        self.exit_code = None
        self.rusage = None
        self.stop_s = None
        self.attach_s = None
        self.hwm_kb = 0  # peak RSS (VmHWM), polled: wait4's ru_maxrss is no use here (see sample_hwm)

    def sample_hwm(self):
        """Reads VmHWM, the peak RSS of the tracer's own address space.

        Not ru_maxrss from wait4: at exec the kernel folds the high-water RSS of the
        address space being replaced (here: this Python process's, shared by vfork)
        into the new program's ru_maxrss, so a child of a big parent reports the
        parent's size. VmHWM belongs to the program's own mm; it is read until the
        process is gone, so at most the last poll interval before exit is missed.
        """
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.hwm_kb = max(self.hwm_kb, int(line.split()[1]))
                        break
        except (OSError, ValueError):
            pass

    def wait_attached(self, settle, timeout=60):
        """Polls the tracer's fds until its tracepoint links exist (and no new one
        appears for 60 ms: libbpf attaches them back to back), then lets it seed."""
        deadline = time.monotonic() + timeout
        seen, stable = -1, 0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited before attaching: {self.stderr_tail()}")
            if self.expected_links == PERF_EVENTS:
                # perf opens one perf event per tracepoint and thread: attached once it holds
                # some and no new one appeared for 60 ms (it can take seconds to get there).
                n, wanted = perf_event_fds(self.proc.pid), 1
            else:
                n, wanted = len(bpf_fdinfo(self.proc.pid)[2]), self.expected_links
            stable = stable + 1 if n == seen else 0
            seen = n
            if n >= wanted and stable >= 3:
                self.attach_s = time.monotonic() - self.started
                self.links = n
                time.sleep(settle)
                return
            time.sleep(0.02)
        raise RuntimeError(f"{self.argv[0]} did not attach within {timeout} s")

    def stop(self, timeout=300):
        """SIGINT, then wait (wait4, for this child's own rusage); SIGKILL after timeout."""
        t0 = time.monotonic()
        status = None
        try:
            os.kill(self.proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        while True:
            self.sample_hwm()
            try:
                pid, st, ru = os.wait4(self.proc.pid, os.WNOHANG)
            except ChildProcessError:  # already reaped: it ended before the signal
                self.stop_s, self.exit_code = 0.0, self.proc.returncode
                return self.exit_code
            if pid:
                status, self.rusage = st, ru
                break
            if time.monotonic() - t0 > timeout:
                self.proc.kill()
                _, st, ru = os.wait4(self.proc.pid, 0)
                status, self.rusage = st, ru
                self.stop_s = float("inf")
                break
            time.sleep(0.005)
        if self.stop_s is None:
            self.stop_s = time.monotonic() - t0
        self.exit_code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = self.exit_code
        return self.exit_code

    def stderr_tail(self, n=400):
        try:
            with open(self.err_path) as f:
                return f.read()[-n:].strip()
        except OSError:
            return ""

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def fmt_exit(code):
    if code == 0:
        return "0"
    if code is None:
        return "?"
    if code < 0:
        return f"signal {-code}"
    return str(code)


# ---------------------------------------------------------------- 1. overhead

# Modes run again with --compare's binary: key suffix and label suffix.
COMPARED = "@compared"
COMPARED_MODES = ("nostacks", "default", "allstacks", "other")
# Overhead modes run only when --modes names them (-a: every task of the machine).
OPT_IN_MODES = ("all", "allnostacks")


def overhead_modes(sw, other_pid, compare=None):
    """(key, label, argv builder or None, expected links, target ratio, target text).

    With `compare` (a second swoffcpu binary), its swoffcpu modes follow, keyed
    KEY@compared, without targets: they run in the same alternating rounds.
    """
    modes = [
        ("untraced", "untraced", None, 0, None, ""),
        ("nostacks", "`swoffcpu -p PID --no-stacks`", lambda pid: [sw, "-p", str(pid), "--no-stacks"],
         SWOFFCPU_LINKS, 1.15, "≤ 1.15×"),
        ("default", "`swoffcpu -p PID` (sampled stacks)", lambda pid: [sw, "-p", str(pid)],
         SWOFFCPU_LINKS, 1.3, "≤ 1.3×"),
        ("allstacks", "`swoffcpu -p PID --all-stacks`", lambda pid: [sw, "-p", str(pid), "--all-stacks"],
         SWOFFCPU_LINKS, None, "—"),
        ("oncpu", "`swoffcpu -p PID --on-cpu` (49 Hz on-CPU samples)", lambda pid: [sw, "-p", str(pid), "--on-cpu"],
         SWOFFCPU_LINKS, None, "—"),
    ]
    if UNWIND_MODES:
        # The unwinders side by side (docs/unwinding.md): the default is --unwind auto.
        modes += [
            ("unwindfp", "`swoffcpu -p PID --unwind fp` (sampled stacks)",
             lambda pid: [sw, "-p", str(pid), "--unwind", "fp"], SWOFFCPU_LINKS, None, "—"),
            ("unwinddwarf", "`swoffcpu -p PID --unwind dwarf` (sampled stacks)",
             lambda pid: [sw, "-p", str(pid), "--unwind", "dwarf"], SWOFFCPU_LINKS, None, "—"),
            ("allstacksfp", "`swoffcpu -p PID --all-stacks --unwind fp`",
             lambda pid: [sw, "-p", str(pid), "--all-stacks", "--unwind", "fp"], SWOFFCPU_LINKS, None, "—"),
        ]
    modes += [
        ("offcputime", "`offcputime -p PID` (libbpf-tools)", lambda pid: [OFFCPUTIME, "-p", str(pid)],
         OFFCPUTIME_LINKS, None, "anchor: 2.6×"),
        # The timeline (docs/timeline.md): every interval and its waker through a ring buffer,
        # written as a Perfetto file at the end; next to the tool that records the same events.
        ("timeline", "`swoffcpu -p PID --timeline FILE`",
         lambda pid: [sw, "-p", str(pid), "--timeline", os.path.join(BENCH_TMP, f"timeline-{pid}.json")],
         SWOFFCPU_LINKS, 1.5, "≤ 1.5×"),
        ("perfsched", "`perf sched record -p PID` (linux-perf)",
         lambda pid: [PERF, "sched", "record", "-p", str(pid), "-o", os.path.join(BENCH_TMP, f"perf-{pid}.data")],
         PERF_EVENTS, None, "anchor for --timeline"),
        ("other", "`swoffcpu -p OTHER` (benchmark not traced)", lambda pid: [sw, "-p", str(other_pid)],
         SWOFFCPU_LINKS, 1.05, "≤ 1.05×"),
        # -a: every task of the machine has a record (docs/live.md); not run unless --modes names them.
        ("all", "`swoffcpu -a` (every task, sampled stacks)", lambda pid: [sw, "-a"], SWOFFCPU_LINKS, None, "—"),
        ("allnostacks", "`swoffcpu -a --no-stacks`", lambda pid: [sw, "-a", "--no-stacks"],
         SWOFFCPU_LINKS, None, "—"),
    ]
    modes = [m for m in modes if m[0] not in OPT_IN_MODES or m[0] in MODE_FILTER]
    if compare:
        def swap(argv_for):
            return lambda pid: [compare if a == sw else a for a in argv_for(pid)]
        modes += [(key + COMPARED, label + " [compared build]", swap(argv_for), links, None, "—")
                  for key, label, argv_for, links, _, _ in modes if key in COMPARED_MODES]
    if MODE_FILTER:
        modes = [m for m in modes if m[0] == "untraced" or m[0] in MODE_FILTER]
    return modes


def pingpong_run(args, exe, argv_for, links, workdir, tag, on_go=None, on_done=None):
    """One timed ping-pong run, traced by argv_for(pid) if given. Returns (us_per_op, tracer)."""
    target = Target([exe, str(args.loops)], cpu=args.cpu, nice=args.nice)
    tracer = None
    try:
        if argv_for:
            tracer = Tracer(argv_for(target.pid), links, workdir, tag)
            tracer.wait_attached(args.settle)
        if on_go:
            on_go(tracer)
        foreign = foreign_sched_links(tracer.proc.pid if tracer else None)
        target.send("go\n")
        line = target.readline(600)
        if not line.startswith("us_per_op "):
            raise RuntimeError(f"pingpong said {line!r}")
        us = float(line.split()[1])
        if on_done:
            on_done(tracer)
        if tracer:
            tracer.stop()
            tracer.foreign = foreign
        return us, (tracer or types.SimpleNamespace(foreign=foreign, exit_code=None, stop_s=None))
    finally:
        if tracer:
            tracer.kill()
        target.finish()


def run_overhead(args, exes, sw, workdir):
    other = subprocess.Popen(["sleep", "100000"])
    modes = overhead_modes(sw, other.pid, args.compare)
    res = {m[0]: {"us": [], "rounds": [], "exits": [], "stop": [], "errors": [], "foreign": []} for m in modes}
    try:
        for rnd in range(args.rounds):
            # rotate the order each round so no mode always runs first or last
            order = modes[rnd % len(modes):] + modes[:rnd % len(modes)]
            for key, label, argv_for, links, _, _ in order:
                tag = f"pp-{key}-{rnd}"
                try:
                    us, tracer = pingpong_run(args, exes["pingpong"], argv_for, links, workdir, tag)
                except Exception as e:  # keep going: a failed run is reported, not fatal
                    res[key]["errors"].append(str(e))
                    log(f"round {rnd + 1} {key}: FAILED {e}")
                    continue
                # The timeline's and perf's files (hundreds of MB a run): sizes kept, files not.
                for f in glob.glob(os.path.join(BENCH_TMP, "timeline-*.json")) + glob.glob(os.path.join(BENCH_TMP, "perf-*.data")):
                    res[key].setdefault("file_bytes", []).append(os.path.getsize(f))
                    os.unlink(f)
                res[key]["us"].append(us)
                res[key]["rounds"].append(rnd)
                res[key]["foreign"].append(tracer.foreign)
                if key == "perfsched" and tracer.exit_code in (-signal.SIGINT, 128 + signal.SIGINT):
                    tracer.exit_code = 0  # perf record re-raises SIGINT once its file is written: its normal stop
                if argv_for:
                    res[key]["exits"].append(tracer.exit_code)
                    res[key]["stop"].append(tracer.stop_s)
                    if tracer.exit_code != 0:
                        res[key]["errors"].append(
                            f"round {rnd + 1}: exit {fmt_exit(tracer.exit_code)}: {tracer.stderr_tail()}")
                log(f"round {rnd + 1}/{args.rounds} {key:19s} {us:8.3f} µs/op"
                    + (f"  exit {fmt_exit(tracer.exit_code)}" if argv_for else "")
                    + (f"  ({tracer.foreign} other sched_switch programs attached)" if tracer.foreign else ""))
    finally:
        other.kill()
        other.wait()
    return modes, res


def overhead_table(modes, res, rounds):
    base = res["untraced"]["us"]
    lines = [
        "| mode | median µs per round trip | slowdown vs untraced (ratio of medians) | added µs per round trip "
        "| target | met | median of per-round ratios | ratio of minimums | runs (min–max µs) | tracer exits |",
        "|---|---:|---:|---:|---|---|---:|---:|---|---|",
    ]
    verdicts = {}
    bmed = statistics.median(base) if base else None
    for key, label, argv_for, _, goal, goal_text in modes:
        us = res[key]["us"]
        if not us:
            lines.append(f"| {label} | failed | | | {goal_text} | | | | | {'; '.join(res[key]['errors'])[:200]} |")
            continue
        med = statistics.median(us)
        spread = f"{len(us)} ({min(us):.2f}–{max(us):.2f})"
        if key == "untraced":
            lines.append(f"| {label} | {med:.3f} | 1.00× | — | | | 1.00× | 1.00× | {spread} | — |")
            continue
        ratio = med / bmed if bmed else float("nan")
        paired = paired_ratios(res[key], res["untraced"])
        pr = f"{statistics.median(paired):.2f}×" if paired else "—"
        added = med - bmed if bmed else float("nan")
        met = ""
        if goal:
            ok = ratio <= goal
            verdicts[key] = (goal_text, f"{ratio:.2f}×", ok)
            met = "yes" if ok else "**no**"
        exits = res[key]["exits"]
        ex = "all 0" if exits and all(e == 0 for e in exits) else ", ".join(fmt_exit(e) for e in exits)
        rmin = f"{min(us) / min(base):.2f}×" if base else "—"
        lines.append(f"| {label} | {med:.3f} | {ratio:.2f}× | {added:+.3f} | {goal_text} | {met} | {pr} | {rmin} "
                     f"| {spread} | {ex} |")
    return "\n".join(lines), verdicts


def all_vs_default(res):
    """-a against the default -p mode of the same rounds (docs/performance.md, "Cost of -a")."""
    lines = []
    for key in ("all", "allnostacks"):
        base = "default" if key == "all" else "nostacks"
        if key in res and base in res and res[key]["us"] and res[base]["us"]:
            med = statistics.median(res[key]["us"]) / statistics.median(res[base]["us"])
            paired = paired_ratios(res[key], res[base])
            lines.append(f"- `{key}` against `{base}` (same rounds): ratio of medians {med:.2f}×, median of "
                         f"per-round ratios {statistics.median(paired):.2f}×" if paired else "")
    return (["-a against -p:", ""] + lines + [""]) if lines else []


def paired_ratios(a, b):
    """a's runs over b's runs of the same round (rounds where both ran)."""
    bs = dict(zip(b["rounds"], b["us"]))
    return [u / bs[r] for u, r in zip(a["us"], a["rounds"]) if r in bs]


def compare_table(modes, res, totals):
    """This build's modes next to the same modes of --compare's build (same rounds)."""
    base = res["untraced"]["us"]
    bmed = statistics.median(base) if base else None
    lines = [
        "| mode | slowdown, this build | slowdown, compared build | this / compared (ratio of medians) "
        "| this / compared (median of per-round ratios) | this / compared (ratio of minimums) "
        "| BPF ns per round trip, this | compared |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label, *_ in modes:
        other = key + COMPARED
        if other not in res:
            continue
        a, b = res[key]["us"], res[other]["us"]
        if not a or not b or not bmed:
            lines.append(f"| {label} | failed | | | | | | |")
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        paired = paired_ratios(res[key], res[other])
        pr = f"{statistics.median(paired):.3f}" if paired else "—"
        ta = f"{totals[key]:.0f}" if key in totals else "—"
        tb = f"{totals[other]:.0f}" if other in totals else "—"
        lines.append(f"| {label} | {ma / bmed:.3f}× | {mb / bmed:.3f}× | {ma / mb:.3f} | {pr} | {min(a) / min(b):.3f} "
                     f"| {ta} | {tb} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- 2. BPF cost per event

def run_bpf_stats(args, exes, sw, workdir):
    """One run per tracer mode with kernel.bpf_stats_enabled=1; run_time_ns/run_cnt diffed over the loop."""
    path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(path) as f:
        old = f.read().strip()
    other = subprocess.Popen(["sleep", "100000"])
    modes = [m for m in overhead_modes(sw, other.pid, args.compare) if m[0] != "untraced"]
    results = []
    ops = args.loops + args.loops // 10 + 1  # timed + warm-up round trips
    try:
        with open(path, "w") as f:
            f.write("1")
        for key, label, argv_for, links, _, _ in modes:
            snap = {}

            def take(tracer, when):
                progs, _, _ = bpf_fdinfo(tracer.proc.pid)
                snap[when] = {pid: (int(d.get("run_time_ns", 0)), int(d.get("run_cnt", 0)))
                              for pid, d in progs.items()}
                if when == "done":  # names while the tracer still holds its programs
                    snap["names"] = bpftool_names("prog")
            try:
                us, tracer = pingpong_run(args, exes["pingpong"], argv_for, links, workdir, f"stats-{key}",
                                          on_go=lambda t: take(t, "go"), on_done=lambda t: take(t, "done"))
            except Exception as e:
                results.append((key, label, None, str(e)))
                continue
            names = snap.get("names", {})
            rows = []
            for pid, (ns1, cnt1) in snap["done"].items():
                ns0, cnt0 = snap["go"].get(pid, (0, 0))
                if cnt1 == cnt0:
                    continue  # not run during the loop (on_fork, the iterators)
                rows.append((names.get(pid, f"prog {pid}"), cnt1 - cnt0, ns1 - ns0))
            results.append((key, label, {"rows": sorted(rows), "us": us, "exit": tracer.exit_code}, ""))
            log(f"bpf stats {key}: " + ", ".join(f"{n} {c} runs {t / c if c else 0:.0f} ns" for n, c, t in rows))
    finally:
        with open(path, "w") as f:
            f.write(old)
        other.kill()
        other.wait()
    totals = {}
    lines = [
        f"| tracer | program | runs during the loop | ns per run | runs per round trip | BPF ns per round trip |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for key, label, data, err in results:
        if not data:
            lines.append(f"| {label} | failed: {err[:150]} | | | | |")
            continue
        total = 0
        for name, cnt, ns in data["rows"]:
            total += ns
            lines.append(f"| {label} | {name} | {cnt} | {ns / cnt if cnt else 0:.0f} | {cnt / ops:.2f} "
                         f"| {ns / ops:.0f} |")
        lines.append(f"| {label} | **all** | | | | **{total / ops:.0f}** |")
        totals[key] = total / ops
    return "\n".join(lines), ops, totals


# ---------------------------------------------------------------- 3. scale

def scale_targets(args, exes):
    """(key, label, target argv, extra swoffcpu args, wait mode)."""
    t = [
        ("threads1k", f"{args.threads_small:,} threads, nanosleep {args.sleep_small} ms",
         [exes["sleepers"], str(args.threads_small)] + args.sleep_small.split("-"), [], "duration"),
        ("threads10k", f"{args.threads_large:,} threads, nanosleep {args.sleep_large} ms",
         [exes["sleepers"], str(args.threads_large)] + args.sleep_large.split("-"), [], "duration"),
        ("churn", f"thread churn ({args.churn_workers} creators, each child sleeps {args.churn_child_us} µs)",
         [exes["churn"], str(args.churn_workers), str(args.churn_child_us)], [], "duration"),
        ("stacks", f"{args.stacks:,} distinct user stacks (`--all-stacks`)",
         [exes["stacks"], str(args.stacks), "4", str(args.stacks_leaf_us)], ["--all-stacks"], "done"),
    ]
    return t


def run_scale(args, exes, sw, workdir):
    out = []
    for key, label, targv, extra, wait in scale_targets(args, exes):
        if args.targets and key not in args.targets:
            continue
        log(f"scale: {key}")
        r = {"key": key, "label": label}
        target = Target(targv)
        tracer = None
        jpath = os.path.join(workdir, f"scale-{key}.json")
        fpath = os.path.join(workdir, f"scale-{key}.folded")
        try:
            tracer = Tracer([sw, "-p", str(target.pid), "--json", jpath, "--folded", fpath] + extra + SCALE_ARGS,
                            SWOFFCPU_LINKS, workdir, f"scale-{key}")
            tracer.wait_attached(args.scale_settle)
            r["attach_s"] = tracer.attach_s
            target.send("go\n")
            t0 = time.monotonic()
            if wait == "done":
                line = target.readline(600)
                r["target_says"] = line
            else:
                while time.monotonic() - t0 < args.scale_seconds:
                    tracer.sample_hwm()
                    time.sleep(0.1)
            r["traced_s"] = time.monotonic() - t0
            # kernel memory of the tracer's maps, right before the stop (maps only grow)
            _, maps, _ = bpf_fdinfo(tracer.proc.pid)
            names = bpftool_names("map")
            r["maps"] = sorted(((names.get(mid, str(mid)), int(d.get("memlock", 0)), int(d.get("max_entries", 0)))
                                for mid, d in maps.items()), key=lambda x: -x[1])
            with open(f"/proc/{tracer.proc.pid}/status") as f:
                st = dict(l.split(":", 1) for l in f if ":" in l)
            r["vmrss_before_stop"] = st.get("VmRSS", "").strip()
            tracer.stop()
            r["exit"] = tracer.exit_code
            r["stop_s"] = tracer.stop_s
            r["maxrss_mb"] = tracer.hwm_kb / 1024
            r["cpu_s"] = tracer.rusage.ru_utime + tracer.rusage.ru_stime
            if tracer.exit_code != 0:
                r["error"] = tracer.stderr_tail()
        except Exception as e:
            r["error"] = str(e)
            log(f"scale {key}: FAILED {e}")
        finally:
            if tracer:
                tracer.kill()
            r["target_end"] = target.finish()
        r.update(read_report(jpath, fpath))
        out.append(r)
        log(f"scale {key}: stop {r.get('stop_s', float('nan')):.2f} s, peak RSS {r.get('maxrss_mb', 0):.0f} MB, "
            f"maps {sum(m[1] for m in r.get('maps', [])) / 2**20:.1f} MiB, drops {r.get('drops')}")
    return out


def run_stop_breakdown(args, exes, sw, workdir):
    """The stack target again, once per output choice: where the time after SIGINT goes."""
    variants = [("table only (stdout)", []),
                ("`--json FILE`", ["--json", os.path.join(workdir, "bd.json")]),
                ("`--folded FILE`", ["--folded", os.path.join(workdir, "bd.folded")])]
    rows = []
    for label, extra in variants:
        target = Target([exes["stacks"], str(args.stacks), "4", str(args.stacks_leaf_us)])
        tracer = None
        try:
            tracer = Tracer([sw, "-p", str(target.pid), "--all-stacks"] + extra, SWOFFCPU_LINKS, workdir, "bd")
            tracer.wait_attached(args.scale_settle)
            target.send("go\n")
            target.readline(600)
            tracer.stop()
            ru = tracer.rusage
            rows.append((label, tracer.stop_s, tracer.hwm_kb / 1024, ru.ru_utime + ru.ru_stime, tracer.exit_code))
            log(f"stop breakdown {label}: {tracer.stop_s:.2f} s, peak RSS {tracer.hwm_kb / 1024:.0f} MB")
        except Exception as e:
            rows.append((label, float("nan"), float("nan"), float("nan"), str(e)[:100]))
        finally:
            if tracer:
                tracer.kill()
            target.finish()
        for path in extra[1:]:
            try:
                os.unlink(path)
            except OSError:
                pass
    lines = ["| output | SIGINT → exit (s) | peak RSS (MB) | swoffcpu CPU, whole run (s) | exit |",
             "|---|---:|---:|---:|---|"]
    for label, stop_s, rss, cpu, code in rows:
        lines.append(f"| {label} | {stop_s:.2f} | {rss:.0f} | {cpu:.1f} | "
                     f"{fmt_exit(code) if isinstance(code, int) else code} |")
    return "\n".join(lines)


def read_report(jpath, fpath):
    r = {}
    try:
        with open(jpath) as f:
            j = json.load(f)
    except (OSError, ValueError) as e:
        r["json_error"] = str(e)
        return r
    threads = [t for p in j.get("processes", []) for t in p.get("threads", [])]
    r["threads"] = len(threads)
    r["born"] = sum(1 for t in threads if t.get("born"))
    r["exited"] = sum(1 for t in threads if t.get("exited"))
    r["switches"] = sum(t.get("switches", 0) for t in threads)
    r["window_s"] = j.get("window_ns", 0) / 1e9
    lost = j.get("lost", {})
    ss = j.get("stack_sampling", {})
    r["lost"] = lost
    r["stack_sampling"] = ss
    # switches_recovered is not a loss: switches the programs missed, rebuilt from the
    # kernel's clocks (docs/json-schema.md); shown beside the drops.
    drops = {k: v for k, v in lost.items() if k not in ("exit_records_dropped_ns", "switches_recovered")}
    r["switches_recovered"] = lost.get("switches_recovered", 0)
    for k in ("stacks_dropped", "stacks_not_stored", "stack_intervals_dropped"):
        drops[k] = ss.get(k)
    r["drops"] = drops
    stacks = j.get("stacks", [])
    r["stack_entries"] = len(stacks)
    # Schema 2 lists each distinct stack once (stack_table) and entries refer to it; schema 1
    # repeated the frame names in every entry.
    key = "user_stack" if j.get("schema_version", 1) >= 2 else "user_frames"
    r["distinct_user_stacks"] = len({json.dumps(s.get(key)) for s in stacks})
    try:
        with open(fpath) as f:
            r["folded_lines"] = sum(1 for _ in f)
    except OSError:
        r["folded_lines"] = None
    return r


def scale_table(rows):
    lines = [
        "| target | threads in report | switch-outs | peak RSS (MB) | kernel map memory at stop (MiB) "
        "| SIGINT → exit, report written (s) | exit | drops (lost / stack_sampling) | distinct user stacks "
        "| swoffcpu CPU (s) |",
        "|---|---:|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for r in rows:
        drops = r.get("drops")
        if drops is None:
            dtext = "no JSON: " + r.get("json_error", "")[:80]
        else:
            nz = {k: v for k, v in drops.items() if v}
            dtext = "none" if not nz else ", ".join(f"{k} {v}" for k, v in nz.items())
            if r.get("switches_recovered"):
                dtext += f" ({r['switches_recovered']:,} switches recovered, not lost)"
        mem = sum(m[1] for m in r.get("maps", [])) / 2**20
        extra = ""
        if r.get("error"):
            extra = f" (error: {r['error'][:120]})"
        def num(k, f="{:,}"):
            v = r.get(k)
            return "—" if v is None else f.format(v)
        lines.append(f"| {r['label']} | {num('threads')} | {num('switches')} | {num('maxrss_mb', '{:.0f}')} "
                     f"| {mem:.1f} | {num('stop_s', '{:.2f}')} | {fmt_exit(r.get('exit'))}{extra} | {dtext} "
                     f"| {num('distinct_user_stacks')} | {num('cpu_s', '{:.1f}')} |")
    return "\n".join(lines)


def scale_details(rows):
    lines = []
    for r in rows:
        lines.append(f"- **{r['label']}**: traced {r.get('traced_s', 0):.1f} s (attach {r.get('attach_s') or 0:.2f} s "
                     f"after start); workload: `{r.get('target_says') or r.get('target_end') or ''}`")
        if r["key"] == "churn" and r.get("target_end", "").startswith("threads "):
            parts = r["target_end"].split()
            try:
                rate = int(parts[1]) / float(parts[3])
                lines.append(f"  - {rate:,.0f} threads created and exited per second; "
                             f"{r.get('born', 0):,} born and {r.get('exited', 0):,} exited threads in the report")
            except (IndexError, ValueError):
                pass
        if r.get("maps"):
            top = ", ".join(f"{n} {b / 2**20:.1f} MiB (max_entries {m:,})" for n, b, m in r["maps"][:5])
            lines.append(f"  - largest maps: {top}")
        if r.get("stack_sampling"):
            ss = r["stack_sampling"]
            lines.append(f"  - stack_sampling: walks {ss.get('walks', 0):,} of {ss.get('switch_outs', 0):,} switch-outs; "
                         f"{r.get('stack_entries', 0):,} stack entries in the JSON, {r.get('folded_lines')} folded lines")
        lines.append(f"  - lost: {json.dumps(r.get('lost'))}; VmRSS just before SIGINT: {r.get('vmrss_before_stop', '?')}")
    return "\n".join(lines)


# ---------------------------------------------------------------- main

def machine_info(sw):
    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    head = cmd(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = cmd(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", "Sources", "bpf",
                 "Package.swift"])
    offv = cmd(["dpkg-query", "-W", "-f=${Version}", "libbpf-tools"])
    return (f"kernel {platform.release()}, {os.cpu_count()} CPUs ({cpu}); swoffcpu at {head}"
            f"{' + uncommitted changes in Sources/bpf' if dirty else ''} ({sw}); libbpf-tools {offv}")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a ~1-minute smoke run (fewer, shorter rounds)")
    ap.add_argument("--rounds", type=int, help="alternating overhead rounds (default 11; quick 2)")
    ap.add_argument("--loops", type=int, help="timed round trips per ping-pong run (default 150000; quick 50000)")
    ap.add_argument("--cpu", type=int, default=1, help="CPU the ping-pong is pinned to (default 1)")
    ap.add_argument("--nice", type=int, default=-20,
                    help="nice value of the ping-pong (default -20, so builds on the same CPU take little of it; 0: off)")
    ap.add_argument("--settle", type=float, default=0.3, help="seconds to wait after a tracer attached (default 0.3)")
    ap.add_argument("--scale-seconds", type=float, help="trace length of the scale runs (default 10; quick 3)")
    ap.add_argument("--scale-settle", type=float, default=1.0, help="seconds after attach before go in scale runs")
    ap.add_argument("--threads-small", type=int, default=1000)
    ap.add_argument("--sleep-small", default="10-50", help="MIN-MAX ms sleeps of the small thread target")
    ap.add_argument("--threads-large", type=int, default=10000)
    ap.add_argument("--sleep-large", default="100-500",
                    help="MIN-MAX ms sleeps of the large thread target (default 100-500: ~33k wakeups/s, "
                         "as many as the small one; 10-50 ms would want 333k/s, more than 2 vCPUs give)")
    ap.add_argument("--churn-workers", type=int, default=4)
    ap.add_argument("--churn-child-us", type=int, default=500)
    ap.add_argument("--stacks", type=int, help="distinct user stacks of the stack target (default 110000, "
                    "max 131072; quick 20000)")
    ap.add_argument("--stacks-leaf-us", type=int, default=20)
    ap.add_argument("--no-frame-pointers", action="store_true",
                    help="build the workloads without frame pointers (as most programs are)")
    ap.add_argument("--unwind-modes", action="store_true",
                    help="also run the overhead modes --unwind fp, --unwind dwarf, --all-stacks --unwind fp")
    ap.add_argument("--scale-args", default="",
                    help="more swoffcpu arguments for the scale runs, e.g. '--unwind fp'")
    ap.add_argument("--skip", default="",
                    help="comma-separated sections to skip: overhead,stats,scale,breakdown")
    ap.add_argument("--modes", default="",
                    help="comma-separated overhead modes to run (default all but -a's; untraced always): nostacks,"
                         "default,allstacks,oncpu,offcputime,timeline,perfsched,other, with --unwind-modes unwindfp,"
                         "unwinddwarf,allstacksfp, and all,allnostacks (swoffcpu -a, only when named); "
                         "with --compare, KEY@compared too")
    ap.add_argument("--targets", default="",
                    help="comma-separated scale targets to run (default all): threads1k,threads10k,churn,stacks")
    ap.add_argument("--swoffcpu", help="use this swoffcpu binary instead of building one")
    ap.add_argument("--no-build", action="store_true", help="use .build-bench/release/swoffcpu as it is")
    ap.add_argument("--compare", metavar="BINARY",
                    help="a second swoffcpu (e.g. the previous commit's build): its modes run in the same "
                         "alternating rounds and BPF-cost runs, reported next to this build's")
    ap.add_argument("--build-retries", type=int, default=2)
    ap.add_argument("--out", help="markdown file to write (default out/bench-DATE.md)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (tracer outputs, JSON)")
    args = ap.parse_args()
    q = args.quick
    args.rounds = args.rounds or (2 if q else 11)
    args.loops = args.loops or (50000 if q else 150000)
    args.scale_seconds = args.scale_seconds or (3.0 if q else 10.0)
    args.stacks = args.stacks or (20000 if q else 110000)
    skip = set(filter(None, args.skip.split(",")))
    global NO_FRAME_POINTERS, UNWIND_MODES, SCALE_ARGS
    SCALE_ARGS = args.scale_args.split()
    NO_FRAME_POINTERS = args.no_frame_pointers
    UNWIND_MODES = args.unwind_modes
    args.targets = set(filter(None, args.targets.split(",")))
    global MODE_FILTER
    MODE_FILTER = set(filter(None, args.modes.split(",")))
    unknown = args.targets - {"threads1k", "threads10k", "churn", "stacks"}
    if unknown:
        sys.exit(f"bench: unknown --targets {','.join(sorted(unknown))}")

    if os.geteuid() != 0:
        sys.exit("bench: run as root (BPF, nice -20, sysctl)")
    if args.compare:
        if not os.access(args.compare, os.X_OK):
            sys.exit(f"bench: --compare {args.compare} is not an executable")
        args.compare = os.path.abspath(args.compare)
    t_start = time.monotonic()
    ensure_packages()
    sw = build_swoffcpu(args)
    global BENCH_TMP
    workdir = tempfile.mkdtemp(prefix="swoffcpu-bench-")
    BENCH_TMP = workdir
    exes = compile_workloads(workdir)
    load0 = loadavg()
    started = datetime.datetime.now().astimezone()
    doc = [f"# swoffcpu benchmark, {started:%Y-%m-%d %H:%M %Z}", "",
           f"{machine_info(sw)}" + (f"; compared with {args.compare}" if args.compare else "") + ".", "",
           f"Command: `scripts/bench.sh {' '.join(sys.argv[1:])}`".rstrip() + "; "
           f"{args.rounds} alternating rounds of {args.loops:,} timed round trips"
           f" (ping-pong pinned to CPU {args.cpu}, nice {args.nice}); scale runs {args.scale_seconds:g} s.", ""]
    verdicts = {}
    overhead_res = None
    scale_rows = None
    totals = {}
    try:
        if "overhead" not in skip:
            log(f"overhead: {args.rounds} rounds × {len(overhead_modes(sw, 0, args.compare))} modes")
            modes, overhead_res = run_overhead(args, exes, sw, workdir)
            table, verdicts = overhead_table(modes, overhead_res, args.rounds)
            doc += ["## 1. Overhead on a pinned pipe ping-pong", "",
                    "Two threads of one process pass a byte back and forth through two pipes, both pinned to "
                    f"CPU {args.cpu}: every round trip is two context switches and one or two wakeups. Modes alternate "
                    "within each round (order rotated per round); medians over rounds. `other`: swoffcpu traces "
                    "a `sleep` while the ping-pong runs untraced by it.", "", table, ""]
            fr = [f for v in overhead_res.values() for f in v["foreign"]]
            busy = sum(1 for f in fr if f)
            doc += [f"Other people's BPF programs on `sched_switch` (not this benchmark's) were attached at the "
                    f"start of {busy} of {len(fr)} runs" + (f" (up to {max(fr)} at once): they run at every switch "
                    "of the machine, the untraced runs included." if busy else "."), ""]
            doc += all_vs_default(overhead_res)
            errs = [f"- {k}: {e}" for k, v in overhead_res.items() for e in v["errors"]]
            if errs:
                doc += ["Failures:", ""] + errs + [""]
        if "stats" not in skip:
            log("bpf stats (kernel.bpf_stats_enabled=1)")
            table, ops, totals = run_bpf_stats(args, exes, sw, workdir)
            doc += ["## 2. BPF programs' own cost per event", "",
                    f"One extra ping-pong run per tracer with `kernel.bpf_stats_enabled=1` (restored after); "
                    f"`run_time_ns`/`run_cnt` of the tracer's programs (from its fds' fdinfo, names from "
                    f"`bpftool prog show -j`) diffed from go to the end of the loop ({ops:,} round trips incl. "
                    "warm-up). The tracepoints fire for every task of the machine, so the runs include the "
                    "other CPU's switches (other processes); per round trip divides by the ping-pong's round "
                    "trips only. Times exclude the tracepoint dispatch around the programs. Programs that did not "
                    "run during the loop are left out.", "", table, ""]
            if overhead_res and overhead_res["untraced"]["us"]:
                b = statistics.median(overhead_res["untraced"]["us"])
                doc += ["Added time per round trip (section 1) against the programs' own run time (this section):", "",
                        "| tracer | added ns per round trip (medians, section 1) | BPF programs' ns per round trip "
                        "| the rest (dispatch, cache and TLB effects, noise) |", "|---|---:|---:|---:|"]
                for key, label, *_ in overhead_modes(sw, 0, args.compare)[1:]:
                    if overhead_res[key]["us"] and key in totals:
                        added = (statistics.median(overhead_res[key]["us"]) - b) * 1000
                        doc.append(f"| {label} | {added:.0f} | {totals[key]:.0f} | {added - totals[key]:.0f} |")
                doc.append("")
        if args.compare and overhead_res:
            doc += ["## Side by side with the compared build", "",
                    f"This build ({sw}) and the compared one ({args.compare}), each mode run with both in the "
                    "same alternating rounds (section 1) and in the BPF-cost runs (section 2). Slowdowns are "
                    "against the same untraced runs; \"this / compared\" below 1 means this build costs less. "
                    "The per-round ratio pairs the two builds' runs of one round, so noise that lasts a round "
                    "cancels out; the ratio of minimums compares each build's quietest run.", "", compare_table(modes, overhead_res, totals), ""]
        if "scale" not in skip:
            rows = scale_rows = run_scale(args, exes, sw, workdir)
            doc += ["## 3. Scale", "",
                    "swoffcpu runs with `--json FILE --folded FILE` (so the report includes the stack work) and "
                    "is stopped with SIGINT. Peak RSS: the highest `VmHWM` of the swoffcpu process (polled every "
                    "5 ms while it stops; `ru_maxrss` would include this script's own size, inherited at exec). "
                    "Kernel map "
                    "memory: sum of `memlock` of swoffcpu's maps (fdinfo, as `bpftool map show` reports "
                    "`bytes_memlock`), read just before SIGINT; on this kernel that is each map's current "
                    "memory use: the stack and stack-time maps are not preallocated, so it is what the "
                    "entries stored so far take, not their capacity. SIGINT → exit: until the process "
                    "exited, its JSON and folded files written.", "", scale_table(rows), "", scale_details(rows), ""]
            by = {r["key"]: r for r in rows}

            def zero_drops(r):
                d = r.get("drops")
                return d is not None and r.get("exit") == 0 and not any(d.values())
            if "threads10k" in by:
                r = by["threads10k"]
                verdicts["drops10k"] = ("0", "none" if zero_drops(r) else json.dumps(r.get("drops")), zero_drops(r))
            if "stacks" in by and args.stacks >= 100000:
                r = by["stacks"]
                n = r.get("distinct_user_stacks", 0)
                verdicts["drops100k"] = ("0, ≥ 100,000 stacks", f"{'none' if zero_drops(r) else json.dumps(r.get('drops'))}, "
                                         f"{n:,} stacks", zero_drops(r) and n >= 100000)
                verdicts["stop100k"] = ("< 1 s", f"{r.get('stop_s', float('nan')):.2f} s", r.get("stop_s", 99) < 1)
                verdicts["rss100k"] = ("< 200 MB", f"{r.get('maxrss_mb', float('nan')):.0f} MB",
                                       r.get("maxrss_mb", 1e9) < 200)
        if "breakdown" not in skip:
            log("stop-time breakdown (stack target, one output at a time)")
            doc += ["### Where the time after Ctrl-C goes", "",
                    f"The {args.stacks:,}-stack target again, swoffcpu `--all-stacks` with one output at a time "
                    "(the table always goes to stdout, here a file).", "",
                    run_stop_breakdown(args, exes, sw, workdir), ""]
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    names = {
        "nostacks": "overhead, `--no-stacks`",
        "default": "overhead, default (sampled stacks)",
        "other": "overhead on processes it does not trace",
        "timeline": "overhead, `--timeline FILE` (docs/timeline.md)",
        "drops10k": f"drops at default map sizes, {args.threads_large:,} threads",
        "drops100k": f"drops at default map sizes, {args.stacks:,}-stack target",
        "stop100k": f"report ready after Ctrl-C, {args.stacks:,}-stack target",
        "rss100k": f"peak RSS, {args.stacks:,}-stack target",
    }
    summ = ["## Targets", "", "| target | required | measured | met |", "|---|---|---|---|"]
    for k, label in names.items():
        if k in verdicts:
            req, got, ok = verdicts[k]
            summ.append(f"| {label} | {req} | {got} | {'yes' if ok else '**no**'} |")
    elapsed = time.monotonic() - t_start
    doc = doc[:6] + summ + [""] + doc[6:]
    doc += [f"Load average {load0} at start, {loadavg()} at the end; total {elapsed / 60:.1f} min."
            + (" Quick mode: a smoke run, not for comparing." if q else ""), ""]
    text = "\n".join(doc)
    out = args.out or os.path.join(ROOT, "out", f"bench-{started:%Y%m%d-%H%M%S}.md")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    raw = {"args": vars(args), "overhead": overhead_res, "scale": scale_rows,
           "verdicts": {k: list(v) for k, v in verdicts.items()}}
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(raw, f, indent=1, default=str)
    print(text)
    log(f"written to {out} (raw numbers: {os.path.splitext(out)[0]}.json)"
        + (f"; work directory {workdir}" if args.keep else ""))


if __name__ == "__main__":
    main()
