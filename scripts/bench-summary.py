"""Writes target/bench-summary.md (and prints it): what `make bench` measured, in one page.

Reads criterion's results (target/criterion/*/new/), the per-call StartExecution latencies the
start_execution bench records (target/bench-results/), and, when present, the process
measurements (target/measure.md: cold start, memory, size, loopback requests/s) and the peer
comparison (target/peer.md). Stdlib only.
"""

import json
import pathlib
import platform
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGET = ROOT / "target"


def criterion_results():
    """(id, median ns, elements per iteration or None) of every criterion benchmark."""
    rows = []
    for bench in sorted((TARGET / "criterion").glob("**/new/benchmark.json")):
        meta = json.loads(bench.read_text())
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        median_ns = estimates["median"]["point_estimate"]
        elements = (meta.get("throughput") or {}).get("Elements")
        rows.append((meta["full_id"], median_ns, elements))
    return rows


def human_time(ns):
    if ns >= 1e6:
        return "%.2f ms" % (ns / 1e6)
    if ns >= 1e3:
        return "%.1f µs" % (ns / 1e3)
    return "%.0f ns" % ns


def section_criterion(out):
    rows = criterion_results()
    if not rows:
        out.append("_No criterion results: run `cargo bench` first._\n")
        return
    out.append("## Criterion (median of samples)\n")
    out.append("| benchmark | median time | throughput |")
    out.append("|---|---|---|")
    for full_id, median_ns, elements in rows:
        rate = ""
        if elements:
            rate = "%.2f M transitions/s" % (elements / (median_ns / 1e9) / 1e6)
        out.append("| %s | %s | %s |" % (full_id, human_time(median_ns), rate))
    out.append("")


def section_latency(out):
    files = sorted((TARGET / "bench-results").glob("start_execution_*.json"))
    if not files:
        return
    out.append("## StartExecution, one Pass state, per call (through the API adapter)\n")
    out.append("| store | calls | p50 | p90 | p99 | max |")
    out.append("|---|---|---|---|---|---|")
    for f in files:
        r = json.loads(f.read_text())
        label = f.stem[len("start_execution_"):]
        out.append("| %s | %d | %s | %s | %s | %s |" % (
            label, r["calls"], *(human_time(r[k] * 1e3) for k in ("p50_us", "p90_us", "p99_us", "max_us"))))
    out.append("")


def include(out, name, title):
    path = TARGET / name
    if path.exists() and path.read_text().strip():
        out.append("## %s\n" % title)
        out.append(path.read_text().strip())
        out.append("")


def main():
    out = ["# fnf-lambda benchmark summary\n"]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        rev = "?"
    cores = len(__import__("os").sched_getaffinity(0))
    out.append("Commit %s; %s, %d cores; `make bench`.\n" % (rev, platform.machine(), cores))
    section_criterion(out)
    section_latency(out)
    include(out, "measure.md", "The process: cold start, memory, size, loopback")
    include(out, "peer.md", "Against a peer: aws-local-stepfunctions")
    text = "\n".join(out) + "\n"
    (TARGET / "bench-summary.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
