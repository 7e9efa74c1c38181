#!/usr/bin/env python3
"""The comparison for bench_train: the same epoch as a Rockpool user writes it, timed on whatever device JAX
picks (the GPU on the device machine). Sequential(LinearJax, RateJax(has_rec, tanh, noise 0.1), LinearJax),
loss = MSE + 10·bounds_cost(τ ≥ 11·dt) + l2sqr_norm(W_rec), jax.jit(jax.value_and_grad(...)) and
jax.example_libraries.optimizers.adam(1e-4), as in the tutorial. Without Rockpool it times the same
equations written in plain JAX (lax.scan) and says so.

    python3 bench/rockpool_epoch.py [--configs S,SB,M,L] [--reps R] > rockpool_ms.txt

stdout: "config ms_per_epoch" lines (what bench_train --compare reads); stderr: details.

Matrix products run in true float32 (jax_default_matmul_precision = "float32"): on recent GPUs JAX would
otherwise use TF32 for float32 products, while ratenn uses plain FP32 (CUBLAS_DEFAULT_MATH)."""
import argparse
import sys
import time

try:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.example_libraries import optimizers

    jax.config.update("jax_default_matmul_precision", "float32")
except Exception as e:  # any failure to start JAX, not only ImportError: one clear line
    print(f"rockpool_epoch: JAX cannot start here: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
          file=sys.stderr)
    sys.exit(2)

CONFIGS = {"S": (50, 3000, 1), "SB": (50, 3000, 256), "M16": (512, 2000, 16), "M": (512, 2000, 64), "L": (4096, 1000, 256)}
DT = 1e-3


def rockpool_loss(n):
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax, RateJax
    from rockpool.training.jax_loss import bounds_cost, l2sqr_norm, make_bounds, mse

    net = Sequential(LinearJax((1, n), has_bias=True),
                     RateJax((n, n), has_rec=True, activation_func="tanh", dt=DT, noise_std=0.1),
                     LinearJax((n, 1), has_bias=True))
    params = net.parameters()
    lo, hi = make_bounds(params)
    lo["1_RateJax"]["tau"] = 11 * DT

    def loss(p, u, y, key):
        m = net.reset_state().set_attributes(p)
        m = m.set_attributes({"1_RateJax": {"rng_key": key}})
        out, _, _ = m(u)
        return mse(out, y) + 10.0 * bounds_cost(p, lo, hi) + l2sqr_norm(p["1_RateJax"]["w_rec"])

    return params, loss, "rockpool"


def plain_jax_loss(n):
    k = jax.random.split(jax.random.PRNGKey(1), 3)
    params = {"w_in": jax.random.normal(k[0], (1, n)), "b_in": jnp.zeros(n),
              "w_rec": jax.random.normal(k[1], (n, n)) / jnp.sqrt(n), "tau": jnp.full(n, 0.02),
              "bias": jnp.zeros(n), "theta": jnp.zeros(n),
              "w_out": jax.random.normal(k[2], (n, 1)) / jnp.sqrt(n), "b_out": jnp.zeros(1)}

    def loss(p, u, y, key):
        b, t, _ = u.shape
        i_all = u @ p["w_in"] + p["b_in"]
        noise = 0.1 * jnp.sqrt(DT) * jax.random.normal(key, (t, b, n))
        alpha = DT / p["tau"]

        def step(x, inp):
            i_t, n_t = inp
            x = x + alpha * (-x + i_t + n_t + p["bias"] + jnp.tanh(x - p["theta"]) @ p["w_rec"])
            return x, jnp.tanh(x - p["theta"])

        _, a = jax.lax.scan(step, jnp.zeros((b, n)), (jnp.swapaxes(i_all, 0, 1), noise))
        out = jnp.swapaxes(a, 0, 1) @ p["w_out"] + p["b_out"]
        bounds = jnp.sum(jnp.where(p["tau"] < 11 * DT, jnp.exp(-(p["tau"] - 11 * DT)), 0.0))
        return jnp.mean((out - y) ** 2) + 10.0 * bounds + jnp.mean(p["w_rec"] ** 2)

    return params, loss, "plain jax"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="S,SB,M,L")
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    try:
        print(f"jax {jax.__version__} on {jax.devices()[0]}, matmul precision "
              f"{jax.config.jax_default_matmul_precision}", file=sys.stderr)
    except Exception as e:
        print(f"rockpool_epoch: JAX has no device: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)
    failed = 0
    for name in args.configs.split(","):
        if name not in CONFIGS:
            print(f"rockpool_epoch: unknown config {name!r} (known: {','.join(CONFIGS)})", file=sys.stderr)
            failed = 1
            continue
        n, t, b = CONFIGS[name]
        try:
            params, loss_fn, what = rockpool_loss(n)
        except Exception as e:  # not importable, or it fails on this JAX
            print(f"  (rockpool unusable: {type(e).__name__}: {e}; timing plain JAX)", file=sys.stderr)
            params, loss_fn, what = plain_jax_loss(n)
        u = np.zeros((b, t, 1), np.float32)
        u[:, :50, 0] = 1.0
        s = np.arange(t)
        y = np.broadcast_to(np.sin(0.01 * s * s / t).astype(np.float32)[None, :, None], (b, t, 1)).copy()
        u, y = jnp.asarray(u), jnp.asarray(y)
        opt_init, opt_update, get_params = optimizers.adam(1e-4)
        state = opt_init(params)

        @jax.jit
        def epoch(i, state, key):
            loss, g = jax.value_and_grad(loss_fn)(get_params(state), u, y, key)
            return loss, opt_update(i, g, state)

        key = jax.random.PRNGKey(0)
        try:
            loss, state = epoch(0, state, key)  # compile, warm up
            loss.block_until_ready()
        except Exception as e:  # e.g. out of memory at L
            print(f"  {name}: failed: {type(e).__name__}: {str(e)[:200]}", file=sys.stderr)
            failed = 1
            continue
        times = []
        try:
            for r in range(args.reps):
                key, sub = jax.random.split(key)
                t0 = time.perf_counter()
                loss, state = epoch(r + 1, state, sub)
                loss.block_until_ready()
                times.append(time.perf_counter() - t0)
        except Exception as e:
            print(f"  {name}: failed while timing: {type(e).__name__}: {str(e)[:200]}", file=sys.stderr)
            failed = 1
            continue
        ms = 1e3 * float(np.median(times))
        print(f"{name} {ms:.4f}")
        print(f"  {name} ({what}): N={n} T={t} B={b} median {ms:.3f} ms/epoch of {args.reps}, loss {float(loss):.6g}",
              file=sys.stderr)
        sys.stdout.flush()
    return failed


if __name__ == "__main__":
    sys.exit(main())
