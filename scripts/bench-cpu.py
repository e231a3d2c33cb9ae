#!/usr/bin/env python3
"""Compare the CPU time per operation of Go benchmarks in two source trees.

Wall-clock ns/op is useless on a shared 2-core machine; CPU time is much less sensitive to
other processes. For every benchmark leaf this runs its compiled test binary pinned to one
core with -test.benchtime=Nx and with (N/10)x, measures the child's user+sys CPU (GC threads
included) with getrusage, and divides the difference by the difference in iterations, so
start-up and per-run set-up cancel out. Work done with the timer stopped inside the loop is
counted. The trees alternate every round; the table shows medians and ranges.

usage: scripts/bench-cpu.py BEFORE_DIR AFTER_DIR ROUNDS PKG:LEAF[:OTHER_PKG_IN_AFTER] ...
  e.g. scripts/bench-cpu.py ../old . 4 ./processor/anonymizer:BenchmarkProcess/keep
N is chosen so that one measurement takes about 0.6 s of CPU.
"""
import os, re, resource, statistics, subprocess, sys, tempfile


def compile_test(root, pkg, out):
    subprocess.run(["go", "test", "-c", "-o", out, pkg], cwd=root, check=True)


def regex(leaf):
    return "^" + "$/^".join(re.escape(p) for p in leaf.split("/")) + "$"


def cpu(binary, pkgdir, leaf, n):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["taskset", "-c", "1", binary, "-test.run", "^$", "-test.bench", regex(leaf),
                    "-test.benchtime", f"{n}x"], cwd=pkgdir, stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    trees = {"before": os.path.abspath(sys.argv[1]), "after": os.path.abspath(sys.argv[2])}
    rounds = int(sys.argv[3])
    cases = []
    for spec in sys.argv[4:]:
        parts = spec.split(":")
        pkg, leaf = parts[0], parts[1]
        cases.append({"leaf": leaf, "pkg": {"before": pkg, "after": parts[2] if len(parts) > 2 else pkg}})
    tmp = tempfile.mkdtemp(prefix="bench-cpu-")
    for c in cases:
        for t, root in trees.items():
            c.setdefault("bin", {})[t] = os.path.join(tmp, f"{t}-{c['pkg'][t].strip('./').replace('/', '_')}.test")
            if not os.path.exists(c["bin"][t]):
                compile_test(root, c["pkg"][t], c["bin"][t])
    for c in cases:  # calibrate N on the after tree: about 0.6 s of CPU
        dir_ = os.path.join(trees["after"], c["pkg"]["after"])
        n = 1000
        while (used := cpu(c["bin"]["after"], dir_, c["leaf"], n)) < 0.1:
            n *= 10
        c["n"] = max(1000, int(n * 0.6 / used))
    res = {"before": {}, "after": {}}
    for r in range(rounds):
        for t in (["before", "after"] if r % 2 == 0 else ["after", "before"]):
            for c in cases:
                dir_ = os.path.join(trees[t], c["pkg"][t])
                n, small = c["n"], max(1, c["n"] // 10)
                per_op = (cpu(c["bin"][t], dir_, c["leaf"], n) - cpu(c["bin"][t], dir_, c["leaf"], small)) / (n - small)
                res[t].setdefault(c["leaf"] + " " + c["pkg"]["after"], []).append(per_op * 1e6)
    print(f"| benchmark | before, CPU µs/op | after, CPU µs/op | change | ranges (before / after) |")
    print("|---|---|---|---|---|")
    for key in res["after"]:
        b, a = res["before"][key], res["after"][key]
        mb, ma = statistics.median(b), statistics.median(a)
        print(f"| {key} | {mb:.2f} | {ma:.2f} | {100 * (ma - mb) / mb:+.1f} % | "
              f"{min(b):.1f}-{max(b):.1f} / {min(a):.1f}-{max(a):.1f} |")


if __name__ == "__main__":
    main()
