"""Time per epoch of the tutorial (chirp, N 50, T 3000, B 1, CPU) through the Python package and through
the CLI, alternating runs, medians. The CLI's figure is its own training rate ("... (R epochs/s)");
Python's is the wall time of Trainer.fit (tqdm bar off, then on).

usage: python bench/python_vs_cli.py [--cli build/ratenn] [--epochs 200] [--reps 5]
"""
import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time

import ratenn


def cli_run(cli, epochs, out):
    r = subprocess.run([cli, "train", "--task", "chirp", "--epochs", str(epochs), "--backend", "cpu",
                        "--out", out], capture_output=True, text=True, check=True)
    m = re.search(r"epochs in [0-9.]+ s \(([0-9.]+) epochs/s\)", r.stderr)
    return 1.0 / float(m.group(1))


def python_run(epochs, progress):
    u, y = ratenn.chirp()
    with ratenn.Network.from_spec("linear(1,50) rate(50,tanh,rec,noise=0.1) linear(50,1)") as net:
        net.set_bounds("1_rate.tau", lower=11e-3)
        with ratenn.Trainer(net, backend="cpu") as tr:
            tr.set_data(u, y)
            t = time.perf_counter()
            tr.fit(u, y, epochs, progress=progress)
            return (time.perf_counter() - t) / epochs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="build/ratenn")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    res = {"cli": [], "python": [], "python+tqdm": []}
    with tempfile.TemporaryDirectory() as d:
        for i in range(a.reps):
            res["cli"].append(cli_run(a.cli, a.epochs, f"{d}/r{i}"))
            res["python"].append(python_run(a.epochs, False))
            res["python+tqdm"].append(python_run(a.epochs, True))
    for k, v in res.items():
        print(f"{k:12s} median {1e3 * statistics.median(v):.2f} ms/epoch, min {1e3 * min(v):.2f}  "
              f"(runs: {', '.join(f'{1e3 * x:.2f}' for x in v)})", file=sys.stderr)


if __name__ == "__main__":
    main()
