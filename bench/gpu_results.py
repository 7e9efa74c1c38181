#!/usr/bin/env python3
"""results.json for bench/gpu-suite.sh, from what the suite has so far (called after every step and on exit).

    gpu_results.py OUT              # writes OUT/results.json (the suite passes STATE, DEVICE, PART, ... in env)
    gpu_results.py --summary FILE   # prints the steps and the benchmark table of a results.json

The table joins, per config, ratenn on the GPU (CUDA-event ms/epoch), ratenn on the CPU and Rockpool/JAX on
the same GPU (FP32 matmuls), all measured in the same suite call; speed-ups are ratios of those medians."""
import csv
import datetime
import json
import os
import sys


def read_tsv(path, ncols):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= ncols:
                    rows.append(parts[:ncols])
    except OSError:
        pass
    return rows


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_text(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def table(rows, rockpool, ceiling):
    out = []
    for cfg in ["S", "SB", "M16", "M", "L"]:
        gpu = next((r for r in rows if r["config"] == cfg and r["backend"] == "cuda"), None)
        cpu = next((r for r in rows if r["config"] == cfg and r["backend"] == "cpu"), None)
        if not gpu and not cpu and cfg not in rockpool:
            continue
        base = gpu or cpu
        t = {"config": cfg, "N": base["N"] if base else None, "T": base["T"] if base else None,
             "B": base["B"] if base else None,
             "gpu_ms": gpu and gpu["ms_per_epoch"], "gpu_wall_ms": gpu and gpu.get("wall_ms_per_epoch"),
             "cpu_ms": cpu and cpu["ms_per_epoch"], "rockpool_gpu_fp32_ms": rockpool.get(cfg)}
        if gpu and cpu:
            t["speedup_vs_cpu"] = round(cpu["ms_per_epoch"] / gpu["ms_per_epoch"], 3)
        if gpu and cfg in rockpool:
            t["speedup_vs_rockpool"] = round(rockpool[cfg] / gpu["ms_per_epoch"], 3)
        if gpu:
            t["gpu_rate_loop"] = gpu.get("rate_loop")
            # timed epochs replayed from the recorded graph (all of them unless a recording failed)
            t["gpu_graph_replays"] = gpu.get("graph_replays")
            t["gpu_reps"] = gpu.get("reps")
            t["gpu_gflops"] = gpu["gflops"]
            t["gpu_peak_mib"] = gpu["peak_mib"]
            if ceiling:
                t["share_of_sgemm_ceiling"] = round(gpu["gflops"] / (ceiling * 1e3), 4)
        out.append(t)
    return out


def write(out_dir):
    state = os.environ.get("STATE", "")
    res = {"device": os.environ.get("DEVICE", ""), "date": datetime.date.today().isoformat(),
           "part": os.environ.get("PART", ""), "quick": os.environ.get("QUICK", "0") == "1",
           "build": "-gencode=arch=compute_90,code=sm_90", "stopped": os.environ.get("STOPPED") or None}
    res["probe"] = {k: v for k, v in read_tsv(os.path.join(state, "probe.tsv"), 2)}
    res["steps"] = [{"step": n, "status": s, "seconds": float(sec), "exit": int(rc)}
                    for n, s, sec, rc in read_tsv(os.path.join(state, "steps.tsv"), 4)]
    # the CPU's L rows running out of the time left is a figure missing, not a failure
    res["failures"] = [s["step"] for s in res["steps"]
                       if s["status"] != "pass" and not (s["step"] == "bench_cpu_L" and s["status"] == "timeout")]
    ceiling = None
    for line in (read_text(os.path.join(out_dir, "sgemm.txt")) or "").splitlines():
        if line.startswith("sgemm_fp32_tflops"):
            try:
                ceiling = float(line.split()[1])
            except (IndexError, ValueError):
                pass
    res["sgemm_fp32_tflops_ceiling"] = ceiling
    rows = []
    for path in [os.path.join(out_dir, "bench_train.json"), os.path.join(state, "bench_cpu_L.json")]:
        bench = read_json(path)
        rows += bench["rows"] if bench else []
    if rows:
        res["bench_train"] = rows
    rockpool = {}
    for line in (read_text(os.path.join(out_dir, "rockpool_ms.txt")) or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                rockpool[parts[0]] = float(parts[1])
            except ValueError:
                pass
    if rockpool:
        res["rockpool_gpu_fp32_ms"] = rockpool
    if rows or rockpool:
        res["table"] = table(rows, rockpool, ceiling)
    nog = read_json(os.path.join(state, "bench_nographs.json"))
    if nog:
        res["bench_no_graphs"] = nog["rows"]
    long_rows = read_json(os.path.join(state, "bench_long.json"))  # issue 14: peak device memory
    if long_rows:
        res["bench_long"] = long_rows["rows"]
    wall, epochs = read_text(os.path.join(state, "chirp_wall")), read_text(os.path.join(state, "chirp_epochs"))
    try:
        with open(os.path.join(out_dir, "chirp_gpu_loss.csv")) as f:
            loss = list(csv.DictReader(f))
        chirp = {"epochs": len(loss), "first_loss": float(loss[0]["loss"]), "final_loss": float(loss[-1]["loss"])}
        if wall and epochs:
            chirp["wall_s"] = round(float(wall), 2)
            chirp["ms_per_epoch_wall"] = round(1e3 * float(wall) / int(epochs), 3)
        res["chirp_gpu"] = chirp
    except (OSError, ValueError, KeyError, IndexError):
        pass
    tmp = os.path.join(out_dir, "results.json.tmp")
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1)
    os.replace(tmp, os.path.join(out_dir, "results.json"))


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def summary(path):
    res = read_json(path)
    if not res:
        print(f"gpu_results: {path} is missing or not JSON")
        return 1
    print(f"\n=== results: {res.get('device')}, part {res.get('part')}, {res.get('date')}")
    for s in res.get("steps", []):
        print(f"  {s['step']:<28} {s['status']:<8} {s['seconds']:>7.1f} s")
    if res.get("table"):
        print(f"  SGEMM FP32 ceiling: {res.get('sgemm_fp32_tflops_ceiling')} TFLOP/s")
        print(f"  {'cfg':<4}{'N':>6}{'T':>6}{'B':>5}{'GPU ms':>10}{'CPU ms':>11}{'Rockpool FP32':>14}"
              f"{'vs CPU':>8}{'vs RP':>8}{'%ceil':>7}{'peak MiB':>10}  rate loop")
        for t in res["table"]:
            share = t.get("share_of_sgemm_ceiling")
            print(f"  {t['config']:<4}{fmt(t['N'], 'd'):>6}{fmt(t['T'], 'd'):>6}{fmt(t['B'], 'd'):>5}"
                  f"{fmt(t['gpu_ms'], '.3f'):>10}{fmt(t['cpu_ms'], '.1f'):>11}{fmt(t['rockpool_gpu_fp32_ms'], '.2f'):>14}"
                  f"{fmt(t.get('speedup_vs_cpu'), '.1f'):>8}{fmt(t.get('speedup_vs_rockpool'), '.2f'):>8}"
                  f"{fmt(share and 100 * share, '.1f'):>7}{fmt(t.get('gpu_peak_mib'), '.1f'):>10}"
                  f"  {t.get('gpu_rate_loop') or '-'}"
                  f"{'' if t.get('gpu_graph_replays') is None else ' replays %d/%d' % (t['gpu_graph_replays'], t['gpu_reps'])}")
    if res.get("chirp_gpu"):
        print(f"  chirp on the GPU: {res['chirp_gpu']}")
    if res.get("stopped"):
        print(f"  stopped: {res['stopped']}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--summary":
        sys.exit(summary(sys.argv[2]))
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    write(sys.argv[1])
