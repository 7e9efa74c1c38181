#!/usr/bin/env python3
"""Rockpool's tutorial "gradient descent training of a rate-based recurrent network" (the pulse-to-chirp
task), with ratenn as the trainer: the notebook's JAX training loop becomes three lines, everything else
(NumPy arrays in and out, matplotlib) stays.

usage: python examples/tutorial.py [--epochs 6000] [--out tutorial-out] [--backend auto|cpu|cuda]
                                   [--noise frozen|fresh] [--no-bias] [--from-rockpool] [--no-progress]

Writes the tutorial's figures as PNGs into --out and prints the loss before and after. --noise frozen
(the default here) reuses one noise draw every epoch, as the notebook's loop does (its reset_state()
restores one RNG key); fresh draws new noise each epoch, as `ratenn train`. --from-rockpool builds the
network in Rockpool (needs rockpool and jax) and converts it with ratenn.from_rockpool.
"""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import ratenn  # noqa: E402


def build(args, dt):
    """The tutorial's network: linear(1→50) → rate(50, recurrent, tanh, σ 0.1) → linear(50→1)."""
    N = args.hidden
    if args.from_rockpool:
        from rockpool.nn.combinators import Sequential
        from rockpool.nn.modules import LinearJax, RateJax
        mod = Sequential(LinearJax((1, N), has_bias=not args.no_bias),
                         RateJax((N, N), has_rec=True, activation_func="tanh", dt=dt, noise_std=0.1),
                         LinearJax((N, 1), has_bias=not args.no_bias))
        return ratenn.from_rockpool(mod, seed=args.seed)
    return (ratenn.Network(dt=dt, seed=args.seed)
            .linear(1, N, bias=not args.no_bias)
            .rate(N, activation="tanh", recurrent=True, noise_std=0.1)
            .linear(N, 1, bias=not args.no_bias))


def save(fig, out, name):
    fig.tight_layout()
    path = os.path.join(out, name)
    fig.savefig(path)
    plt.close(fig)
    print("wrote", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=6000)
    ap.add_argument("--hidden", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="tutorial-out")
    ap.add_argument("--backend", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--noise", default="frozen", choices=["frozen", "fresh"])
    ap.add_argument("--no-bias", action="store_true", help="linear layers without bias (Rockpool 3.x's default)")
    ap.add_argument("--from-rockpool", action="store_true")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    plt.rcParams["figure.figsize"] = [12, 4]

    # the task: a 50 ms trigger pulse in, a chirp out, 1 s of padding either side (dt 1 ms, T 3000)
    dt = 1e-3
    u, y = ratenn.chirp(dt=dt)
    t = np.arange(len(u)) * dt
    fig, ax = plt.subplots()
    ax.plot(t, u, label="Input")
    ax.plot(t, y, label="Target")
    ax.set(xlabel="Time (s)", title="Input and target")
    ax.legend()
    save(fig, args.out, "input_target.png")

    net = build(args, dt)
    print(net)
    net.set_bounds("1_rate.tau", lower=11 * dt)  # the tutorial's bound: τ >= 11·dt, a soft penalty
    params0 = net.parameters()
    out0 = net.evolve(u)

    # the training loop: Adam 1e-4, loss = MSE + 10·bounds + mean(w_rec²), as the tutorial
    with ratenn.Trainer(net, backend=args.backend, lr=1e-4, w_mse=1, w_bounds=10, w_l2=1,
                        seed=args.seed, noise=args.noise) as tr:
        print("training on", tr.backend)
        hist = tr.fit(u, y, args.epochs, progress=not args.no_progress)
    print(f"MSE {hist['mse'][0]:.4g} -> {hist['mse'][-1]:.4g} after {args.epochs} epochs")

    out, rec = net.evolve(u, record=True)
    params = net.parameters()

    fig, ax = plt.subplots()
    ax.plot(t, out0, label="Output before training")
    ax.plot(t, out, label="Output after training")
    ax.plot(t, y, "--", lw=2, label="Target")
    ax.set(xlabel="Time (s)", ylabel="Output", title="Output vs target")
    ax.legend()
    save(fig, args.out, "output.png")

    fig, ax = plt.subplots()
    ax.plot(hist["loss"], lw=0.5, alpha=0.35, color="tab:gray", label="Total loss")
    ax.plot(hist["mse"], color="tab:blue", label="MSE")
    ax.set(xlabel="Epoch", ylabel="Loss", yscale="log", title="Training progress")
    ax.legend()
    save(fig, args.out, "loss.png")

    fig, ax = plt.subplots(figsize=(12, 6))
    x = rec["1_rate"]["x"]
    for k, j in enumerate(range(0, x.shape[1], max(1, x.shape[1] // 10))):
        ax.plot(t, x[:, j] + k, lw=0.8)
    ax.set(xlabel="Time (s)", ylabel="Neuron state x (staggered)", title="Neuron states")
    save(fig, args.out, "states.png")

    fig, ax = plt.subplots(figsize=(8, 6))
    n = args.hidden
    for label, p, style in (("Initial", params0, "."), ("Trained", params, "o")):
        J = (p["1_rate"]["w_rec"] - np.identity(n)) / p["1_rate"]["tau"]
        ev = np.linalg.eigvals(J)
        ax.plot(ev.real, ev.imag, style, label=f"{label} eigenspectrum")
    ax.axvline(0, ls="--", color="k", lw=1)
    ax.set(xlabel="Re(λ) (1/s)", ylabel="Im(λ) (1/s)", title="Eigenspectrum of J = (W_rec − I) / τ")
    ax.legend()
    save(fig, args.out, "eigenspectrum.png")

    fig, ax = plt.subplots()
    ax.hist(params["1_rate"]["tau"] / 1e-3, 21)
    ax.set(xlabel="Time constant (ms)", ylabel="Count", title="Distribution of trained time constants")
    save(fig, args.out, "tau_hist.png")

    fig, ax = plt.subplots()
    ax.stem(params["1_rate"]["bias"])
    ax.set(xlabel="Unit", ylabel="Bias", title="Distribution of trained biases")
    save(fig, args.out, "biases.png")
    net.save_parameters(os.path.join(args.out, "params.npz"))  # `ratenn params` reads it
    net.close()


if __name__ == "__main__":
    main()
