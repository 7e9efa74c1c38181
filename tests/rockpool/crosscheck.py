"""ratenn against Rockpool: the tutorial's loss and every gradient, ratenn (CPU, float32) versus
jax.value_and_grad over Rockpool's LinearJax/RateJax/LinearJax, same parameters, noise off.

Usage: python crosscheck.py BUILD_DIR   (needs jax and rockpool; see README "Checked against Rockpool")
"""
import os
import subprocess
import sys
import tempfile

import numpy as np


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    exe = os.path.join(build, "crosscheck_ratenn")
    import jax
    jax.config.update("jax_enable_x64", False)
    import jax.numpy as jnp
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax, RateJax
    from rockpool.training.jax_loss import bounds_cost, make_bounds, mse, l2sqr_norm

    dt, T, N = 1e-3, 600, 20
    worst = 0.0
    for act_name, act_code in (("tanh", 0), ("relu", 1), ("sigmoid", 2)):
        rng = np.random.default_rng(act_code)
        # has_bias=True: the tutorial's Rockpool had linear biases (its make_bounds lists them); 3.x defaults to none
        net = Sequential(LinearJax((1, N), has_bias=True),
                         RateJax((N, N), has_rec=True, activation_func=act_name, dt=dt, noise_std=0.0),
                         LinearJax((N, 1), has_bias=True))
        params = net.parameters()
        # varied values, so every term is exercised: τ around and below the bound, thresholds, biases
        params["0_LinearJax"]["weight"] = rng.uniform(-1, 1, (1, N)).astype(np.float32)
        params["0_LinearJax"]["bias"] = rng.uniform(-0.3, 0.3, (N,)).astype(np.float32)
        params["1_RateJax"]["w_rec"] = (rng.normal(size=(N, N)) / np.sqrt(N)).astype(np.float32)
        params["1_RateJax"]["tau"] = rng.uniform(0.009, 0.05, (N,)).astype(np.float32)
        params["1_RateJax"]["bias"] = rng.uniform(-0.3, 0.3, (N,)).astype(np.float32)
        params["1_RateJax"]["threshold"] = rng.uniform(-0.2, 0.2, (N,)).astype(np.float32)
        params["2_LinearJax"]["weight"] = rng.uniform(-1, 1, (N, 1)).astype(np.float32)
        params["2_LinearJax"]["bias"] = rng.uniform(-0.3, 0.3, (1,)).astype(np.float32)
        lo, hi = make_bounds(params)
        lo["1_RateJax"]["tau"] = 11 * dt
        t = np.linspace(0, 1, T)
        u = (t < 0.05).astype(np.float32)[None, :, None]
        y = np.sin(2 * np.pi * t * t * 5).astype(np.float32)[None, :, None]

        def loss(p):
            m = net.reset_state().set_attributes(p)
            out, _, _ = m(u)
            return mse(out[0], y[0]) + 10.0 * bounds_cost(p, lo, hi) + l2sqr_norm(p["1_RateJax"]["w_rec"]), out

        (L, out), g = jax.value_and_grad(loss, has_aux=True)(params)
        # ratenn's order: 0_linear.weight, 0_linear.bias, 1_rate.w_rec, tau, bias, threshold, x0, 2_linear.weight, bias
        order = [("0_LinearJax", "weight"), ("0_LinearJax", "bias"), ("1_RateJax", "w_rec"), ("1_RateJax", "tau"),
                 ("1_RateJax", "bias"), ("1_RateJax", "threshold"), None, ("2_LinearJax", "weight"),
                 ("2_LinearJax", "bias")]
        with tempfile.TemporaryDirectory() as d:
            flat = [np.zeros(N, np.float32) if k is None else np.asarray(params[k[0]][k[1]], np.float32).ravel() for k in order]
            np.concatenate(flat).astype(np.float32).tofile(os.path.join(d, "params.f32"))
            u.ravel().tofile(os.path.join(d, "input.f32"))
            y.ravel().tofile(os.path.join(d, "target.f32"))
            subprocess.run([exe, d, str(N), str(T), str(act_code)], check=True)
            rl = np.fromfile(os.path.join(d, "loss.f64"), np.float64)[0]
            rg = np.fromfile(os.path.join(d, "grads.f32"), np.float32)
            ro = np.fromfile(os.path.join(d, "output.f32"), np.float32)
        print(f"{act_name}: loss rockpool {float(L):.7g} ratenn {rl:.7g} rel {abs(rl - float(L)) / abs(float(L)):.2e}; "
              f"output rel {np.linalg.norm(ro - np.asarray(out).ravel()) / np.linalg.norm(np.asarray(out)):.2e}")
        worst = max(worst, abs(rl - float(L)) / abs(float(L)))
        off = 0
        for k, f in zip(order, flat):
            n = f.size
            if k is not None:
                jg = np.asarray(g[k[0]][k[1]], np.float64).ravel()
                rel = np.abs(rg[off:off + n] - jg).max() / max(np.abs(jg).max(), 1e-30)
                worst = max(worst, rel)
                print(f"   grad {k[0]}.{k[1]:9s} max|diff|/max|g| = {rel:.2e}")
            off += n
    print(f"worst relative difference: {worst:.2e}")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
