"""Loading a user's table: mlplab's loader (Arrow's C++ CSV reader + encoding) against ``pandas.read_csv``.

    .venv/bin/python benchmarks/tables.py [--sizes 10000,100000,1000000] [--repeat 3] [--train]
        [--dir /tmp/mlplab-tables]

Writes CSVs of N rows × 50 float columns + an integer label (values with 4 decimals, ≈ 420 MB at 1M rows) into
--dir (never into the repository), then times each loader in a fresh subprocess and reads its peak memory
(``ru_maxrss``, the whole process: interpreter and imports included). Goals (issue 13): load time ≤ 1.5×
pandas at every size; peak memory above the imports ≤ 3 × the float32 arrays + the file size (the table also
gives the looser reading 3 × (float32 + file)). ``--train`` also runs ``mlplab train`` for one epoch on the
largest file under ``/usr/bin/time -v`` and reports its peak memory and swap use. Prints a Markdown table
for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

N_FEATURES = 50

CHILD = r"""
import json, resource, sys, time
kind, path = sys.argv[1], sys.argv[2]
if kind == "mlplab":
    from mlplab.data import load_dataset
    load = lambda: load_dataset(path).X
else:
    import pandas as pd
    load = lambda: pd.read_csv(path)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
out = load()
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024, "base_mb": base / 1024, "shape": list(out.shape)}))
"""


def write_csv(path: Path, n: int, seed: int = 0) -> None:
    """N rows of 50 standard-normal features (4 decimals) and a label 0..9, with a header, via pyarrow."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    if path.exists():
        return
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".part")
    with pa_csv.CSVWriter(tmp, pa.schema([*(pa.field(f"f{j}", pa.float64()) for j in range(N_FEATURES)),
                                          pa.field("label", pa.int64())])) as writer:
        for start in range(0, n, 100_000):
            m = min(100_000, n - start)
            X = np.round(rng.normal(size=(m, N_FEATURES)), 4)
            y = rng.integers(0, 10, m)
            cols = [pa.array(X[:, j]) for j in range(N_FEATURES)] + [pa.array(y)]
            writer.write_table(pa.table(cols, names=[*(f"f{j}" for j in range(N_FEATURES)), "label"]))
    os.replace(tmp, path)


def measure(kind: str, path: Path, repeat: int) -> dict:
    """Best time of ``repeat`` fresh processes, and the largest peak memory among them."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], capture_output=True, text=True,
                             check=True)
        runs.append(json.loads(out.stdout))
    return {"seconds": min(r["seconds"] for r in runs), "peak_mb": max(r["peak_mb"] for r in runs),
            "base_mb": min(r["base_mb"] for r in runs)}


def train_one_epoch(path: Path, out: Path) -> dict:
    """``mlplab train`` for one epoch under /usr/bin/time -v: wall time, peak RSS, and swap in use before/after."""
    def swap_used() -> int:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        return int(info["SwapTotal"].split()[0]) - int(info["SwapFree"].split()[0])

    swap_before = swap_used()
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "mlplab", "train", "-q", "--dataset", str(path),
           "--epochs", "1", "--hidden", "64", "--batch-size", "256", "--out", str(out)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    fields = dict(line.strip().split(": ", 1) for line in proc.stderr.splitlines() if ": " in line)
    metrics = json.loads((out / "metrics.json").read_text())
    return {"wall_s": wall, "peak_mb": int(fields["Maximum resident set size (kbytes)"]) / 1024,
            "major_faults": int(fields["Major (requiring I/O) page faults"]),
            "swap_kb_before": swap_before, "swap_kb_after": swap_used(),
            "epoch_s": metrics["history"][0]["seconds"], "test_accuracy": metrics["test"]["accuracy"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/mlplab-tables")
    ap.add_argument("--train", action="store_true")
    args = ap.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    rows = []
    for n in map(int, args.sizes.split(",")):
        path = folder / f"table_{n}.csv"
        write_csv(path, n)
        size_mb = path.stat().st_size / 2**20
        repeat = args.repeat if n < 1_000_000 else max(1, args.repeat - 1)
        ours, theirs = measure("mlplab", path, repeat), measure("pandas", path, repeat)
        float32_mb = n * (N_FEATURES + 1) * 4 / 2**20  # the features and the label, as float32
        rows.append({"n": n, "file_mb": size_mb, "mlplab": ours, "pandas": theirs,
                     "budget_mb": 3 * (float32_mb + size_mb), "strict_mb": 3 * float32_mb + size_mb})
        print(json.dumps(rows[-1]), file=sys.stderr)
    print("| rows × 50 | file | mlplab load | pandas.read_csv | time ratio (goal ≤ 1.5) | mlplab peak RSS "
          "| pandas peak RSS | mlplab above imports | pandas above imports | budget 3 × float32 + file "
          "| budget 3 × (float32 + file) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        m, p = r["mlplab"], r["pandas"]
        used = m["peak_mb"] - m["base_mb"]
        print(f"| {r['n']:,} | {r['file_mb']:.1f} MB | {m['seconds']:.3f} s | {p['seconds']:.3f} s | "
              f"{m['seconds'] / p['seconds']:.2f} | {m['peak_mb']:.0f} MB | {p['peak_mb']:.0f} MB | "
              f"{used:.1f} MB | {p['peak_mb'] - p['base_mb']:.1f} MB | "
              f"{r['strict_mb']:.1f} MB ({'met' if used <= r['strict_mb'] else 'missed'}) | "
              f"{r['budget_mb']:.1f} MB ({'met' if used <= r['budget_mb'] else 'missed'}) |")
    if args.train:
        n = max(map(int, args.sizes.split(",")))
        result = train_one_epoch(folder / f"table_{n}.csv", folder / "train-run")
        print(f"\n`mlplab train` one epoch on {n:,} rows: {json.dumps(result)}")
    print(f"load average after: {os.getloadavg()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
