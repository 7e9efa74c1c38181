#!/usr/bin/env python3
"""The figures of Rockpool's tutorial (seeds/000), drawn from a ratenn run's files.

usage: plot_run.py DIR [--out PNGDIR]     (called by `ratenn plot DIR`)

Reads DIR/run.npz, DIR/loss.csv, DIR/params.npz, DIR/params_initial.npz, DIR/config.json and, for a run with
synaptic filters, DIR/tau_history.csv; writes one PNG per figure into PNGDIR (default DIR/plots) and lists them.
"""
import csv
import json
import os
import signal
import stat
import sys

np = plt = None  # imported in main: a Python without them gets one line, not a traceback


class BadFile(Exception):
    """A run file that cannot be used: reported as one line naming it (never a traceback)."""


class Stopped(BaseException):  # not caught by the `except Exception` around reads
    """A signal (Ctrl-C, SIGTERM, SIGHUP): the figures drawn so far are removed, one line."""

    def __init__(self, sig):
        super().__init__(sig)
        self.sig = sig


def on_signal(sig, frame):
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # once: the cleanup is not interrupted
        signal.signal(s, signal.SIG_IGN)
    raise Stopped(sig)


def regular(path):
    """Refuses a run file that is not a regular file (a FIFO would block the read forever)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise BadFile(f"{path}: cannot read ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise BadFile(f"{path}: not a regular file")


def load(path):
    regular(path)
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # a truncated or garbled file: zipfile, numpy and OS errors alike
        raise BadFile(f"{path}: not a readable .npz ({type(e).__name__}: {e})") from None
    for k, v in arrays.items():
        if v.dtype.kind != "f":
            raise BadFile(f"{path}: array '{k}' is {v.dtype}, not floating point")
    return arrays


def need(arrays, path, name, ndim):
    if name not in arrays:
        raise BadFile(f"{path}: has no array '{name}'")
    if arrays[name].ndim != ndim or 0 in arrays[name].shape:
        raise BadFile(f"{path}: '{name}' has shape {arrays[name].shape}, expected {ndim} non-empty dimensions")
    return arrays[name]


def read_csv(path, first):
    """Rows of a CSV of numbers whose header starts with `first`; every field a number."""
    regular(path)
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise BadFile(f"{path}: cannot read ({e})") from None
    if not rows or not rows[0] or rows[0][0] != first:
        raise BadFile(f"{path}: no '{first},...' header line")
    header, data = rows[0], []
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise BadFile(f"{path}: line {i} has {len(r)} fields, the header {len(header)}")
        try:
            data.append([float(v) for v in r])
        except ValueError:
            raise BadFile(f"{path}: line {i} holds a field that is not a number") from None
    return header, np.array(data, dtype=float).reshape(len(data), len(header))


def save(fig, outdir, name, written):
    """Drawn to a temporary name; main renames every figure into place once all are drawn."""
    path = os.path.join(outdir, name)
    written.append(path)  # before the file exists: a signal while it is written removes it too
    fig.tight_layout()
    fig.savefig(path + ".tmp", format="png")
    plt.close(fig)


def main(argv):
    global np, plt
    written, made = [], []
    rc = 1
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            import numpy as np
        except Exception as e:
            raise BadFile(f"{sys.executable} lacks numpy or matplotlib ({e}); set RATENN_PYTHON to a "
                          "python3 that has them") from None
        plt.rcParams["figure.figsize"] = [12, 4]
        plt.rcParams["figure.dpi"] = 100
        return draw(argv, written, made)
    except Stopped as e:
        print(f"ratenn plot: stopped by signal {e.sig}; no figure written", file=sys.stderr)
        rc = 128 + e.sig
    except BadFile as e:
        print(f"ratenn plot: {e}", file=sys.stderr)
    except Exception as e:  # whatever else: still one line
        print(f"ratenn plot: {type(e).__name__}: {e}", file=sys.stderr)
    for w in written:
        try:
            os.unlink(w + ".tmp")
        except OSError:
            pass
    for d in reversed(made):  # the directories this call made, if they stayed empty
        try:
            os.rmdir(d)
        except OSError:
            pass
    return rc


def draw(argv, written, made):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    run_dir = argv[1]
    outdir = os.path.join(run_dir, "plots")
    if len(argv) == 4 and argv[2] == "--out":
        outdir = argv[3]
    elif len(argv) != 2:
        print("plot_run.py: usage: plot_run.py DIR [--out PNGDIR]", file=sys.stderr)
        return 2
    for f in ("run.npz", "loss.csv", "params.npz", "config.json"):
        if not os.path.exists(os.path.join(run_dir, f)):
            print(f"ratenn plot: {run_dir} has no {f} (is it a ratenn run directory?)", file=sys.stderr)
            return 1
    # every file read and checked before anything is drawn
    cfg_path = os.path.join(run_dir, "config.json")
    regular(cfg_path)
    try:
        with open(cfg_path) as fh:
            cfg = json.load(fh)
    except (OSError, ValueError) as e:
        raise BadFile(f"{cfg_path}: not readable JSON ({e})") from None
    if not isinstance(cfg, dict):
        raise BadFile(f"{cfg_path}: not a JSON object")
    dt = cfg.get("dt", 1e-3)
    if not isinstance(dt, (int, float)) or not dt > 0 or not np.isfinite(dt):
        raise BadFile(f"{cfg_path}: \"dt\" is not a number > 0")
    run_path = os.path.join(run_dir, "run.npz")
    run = load(run_path)
    for name in ("input", "target", "output"):
        need(run, run_path, name, 3)
    params = load(os.path.join(run_dir, "params.npz"))
    init_path = os.path.join(run_dir, "params_initial.npz")
    params0 = load(init_path) if os.path.exists(init_path) else None
    loss_path = os.path.join(run_dir, "loss.csv")
    header, table = read_csv(loss_path, "epoch")
    if "loss" not in header:
        raise BadFile(f"{loss_path}: no 'loss' column")
    loss = table[:, header.index("loss")]
    mse = table[:, header.index("mse")] if "mse" in header else None
    hist_path = os.path.join(run_dir, "tau_history.csv")
    tau_hist = read_csv(hist_path, "epoch") if os.path.exists(hist_path) else None
    T = run["input"].shape[1]
    t = np.arange(T) * dt
    try:
        missing, d = [], os.path.abspath(outdir)
        while not os.path.isdir(d) and d != os.path.dirname(d):
            missing.append(d)
            d = os.path.dirname(d)
        for d in reversed(missing):  # made one by one, so that a failure removes what was made
            os.mkdir(d)
            made.append(d)
    except OSError as e:
        raise BadFile(f"--out {outdir}: cannot create the directory ({e.strerror})") from None

    fig, ax = plt.subplots()
    ax.plot(t, run["input"][0, :, 0], label="Input")
    ax.plot(t, run["target"][0, :, 0], label="Target")
    ax.set(xlabel="Time (s)", ylabel="Input / target amplitude", title="Input and target")
    ax.legend()
    save(fig, outdir, "input_target.png", written)

    if "output_initial" in run:
        fig, ax = plt.subplots()
        ax.plot(t, run["output_initial"][0, :, 0], label="Output before training")
        ax.plot(t, run["target"][0, :, 0], "--", label="Target")
        ax.set(xlabel="Time (s)", ylabel="Output", title="Output before training")
        ax.legend()
        save(fig, outdir, "output_initial.png", written)

    fig, ax = plt.subplots()
    if len(loss):
        # The total includes the bound penalty, which jumps by w_bounds (10) whenever a τ dips under its
        # bound (Rockpool's bounds_cost is discontinuous there): draw it faintly, the MSE on top.
        ax.plot(np.arange(len(loss)), loss, lw=0.5, alpha=0.35, color="tab:gray", label="Total loss")
        if mse is not None:
            ax.plot(np.arange(len(mse)), mse, lw=1.2, color="tab:blue", label="MSE")
        ax.set_yscale("log")
        ax.legend()
    ax.set(xlabel="Iteration (epoch)", ylabel="Loss", title="Training progress")
    save(fig, outdir, "loss.png", written)

    fig, ax = plt.subplots()
    ax.plot(t, run["output"][0, :, 0], label="Output")
    ax.plot(t, run["target"][0, :, 0], "--", lw=2, label="Target")
    ax.set(xlabel="Time (s)", ylabel="Output", title="Output vs target")
    ax.legend()
    save(fig, outdir, "output_trained.png", written)

    rate_layers = sorted({k.split("_")[0] for k in params if k.split(".")[0].endswith("_rate")}, key=int)
    for li in rate_layers:
        p = f"{li}_rate."
        x = run.get(p + "x")
        if x is not None:
            n = x.shape[2]
            idx = np.arange(0, n, max(1, n // 10))
            fig, ax = plt.subplots(figsize=(12, 6))
            for k, j in enumerate(idx):
                ax.plot(t, x[0, :, j] + k, lw=0.8)
            ax.set(xlabel="Time (s)", ylabel="Neuron state x (staggered by 1)",
                   title=f"Neuron states, layer {li} ({len(idx)} of {n} neurons)")
            save(fig, outdir, f"states_{li}.png", written)
        tau = need(params, "params.npz", p + "tau", 1)
        fig, ax = plt.subplots()
        ax.hist(tau / 1e-3, 21, label="Trained time constants")
        ax.set(xlabel="Time constant (ms)", ylabel="Count", title="Distribution of time constants")
        ax.legend()
        save(fig, outdir, f"tau_hist_{li}.png", written)
        fig, ax = plt.subplots()
        ax.stem(need(params, "params.npz", p + "bias", 1))
        ax.set(xlabel="Unit", ylabel="Bias", title="Distribution of trained biases")
        save(fig, outdir, f"biases_{li}.png", written)
        if p + "w_rec" in params:
            need(params, "params.npz", p + "w_rec", 2)
            if params0 is not None:
                need(params0, "params_initial.npz", p + "w_rec", 2)
                need(params0, "params_initial.npz", p + "tau", 1)
            fig, ax = plt.subplots(figsize=(8, 6))
            n = tau.shape[0]
            for label, src, style in (("Initial eigenspectrum", params0, "."), ("Trained eigenspectrum", params, "o")):
                if src is None:
                    continue
                J = (src[p + "w_rec"] - np.identity(n)) / src[p + "tau"]
                eig = np.linalg.eigvals(J)
                ax.plot(np.real(eig), np.imag(eig), style, label=label)
            ax.axvline(0, ls="--", color="k", lw=1, label="Imaginary axis")
            ax.set(xlabel="Re($\\lambda$) (1/s)", ylabel="Im($\\lambda$) (1/s)",
                   title="Eigenspectrum of the Jacobian $J = (W_{rec} - I) / \\tau$")
            ax.legend()
            save(fig, outdir, f"eigenspectrum_{li}.png", written)

    if tau_hist is not None:
        header, data = tau_hist
        fig, ax = plt.subplots()
        for j, name in enumerate(header[1:], start=1):
            if len(data):
                ax.plot(data[:, 0], data[:, j] * 1e3, label=f"learned {name}")
        for key in ("target-tau", "target-tau2"):
            v = cfg.get(key)
            if isinstance(v, (int, float)) and v > 0 and cfg.get("task") == "synapse":
                ax.axhline(v * 1e3, ls="--", color="k", lw=1, label=f"true τ = {v * 1e3:g} ms")
        ax.set(xlabel="Epoch", ylabel="Time constant (ms)", title="Learned time constant per epoch")
        ax.legend()
        save(fig, outdir, "tau_per_epoch.png", written)

    # the list first (a failing stdout removes the figures like any failure), then all into place
    try:
        if sys.stdout is None:
            raise OSError(9, "standard output is closed")
        sys.stdout.write("".join(w + "\n" for w in written))
        sys.stdout.flush()
    except OSError as e:
        raise BadFile(f"cannot list the figures on standard output ({e.strerror})") from None
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # the renames are not interrupted
        signal.signal(s, signal.SIG_IGN)
    for w in written:
        os.replace(w + ".tmp", w)
    return 0


if __name__ == "__main__":
    rc = main(sys.argv)
    try:
        sys.stdout.flush()
    except Exception:  # failed already (and said so), or closed
        pass
    sys.stderr.flush()
    os._exit(rc)  # (a flush at exit of a failed stdout would print a second error)
