"""Rockpool interop: a ratenn Network from a Rockpool Sequential, and Rockpool's parameter dict from a
ratenn Network. Rockpool itself is not imported here: modules are recognised by class name and read
through their attributes, so this works for the JAX, Torch and NumPy variants alike."""
import sys
import warnings

import numpy as np

from .network import Network

_LINEAR = ("LinearJax", "LinearTorch", "Linear")
_RATE = ("RateJax", "RateTorch", "Rate")
_EXPSYN = ("ExpSynJax", "ExpSynTorch", "ExpSyn")
# ratenn's activations as functions of z = x - threshold (SPEC: sigmoid is Rockpool's (tanh(z)+1)/2,
# lrelu the standard form with slope 0.01).
_ACT_FNS = {
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: (np.tanh(z) + 1.0) / 2.0,
    "lrelu": lambda z: np.where(z >= 0, z, 0.01 * z),
    "linear": lambda z: z,
}


def _np(v):
    """A Rockpool attribute (NumPy, JAX or Torch array, or a float) as a float32 NumPy array."""
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=np.float32)


def _children(module):
    """[(name, module)] of a Sequential, or [(name, module)] for a lone module."""
    if type(module).__name__.startswith("Sequential") or hasattr(module, "modules") and module.modules():
        return list(module.modules().items())
    return [(f"0_{type(module).__name__}", module)]


def _is_torch(mod):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(mod, torch.nn.Module)


def _activation(mod, where):
    """The ratenn activation a Rockpool rate module computes, found by evaluating its act_fn(x, t) on a
    grid: the Torch module takes any callable (its default is a relu lambda, and tanh or sigmoid are
    the user's own lambdas), so the function's name says nothing; its values do. The grid varies the
    threshold too, so that a function of x alone, or torch.sigmoid (the logistic function, not
    Rockpool's (tanh+1)/2), is refused rather than mapped to something else."""
    fn = getattr(mod, "act_fn", None)
    name = getattr(getattr(fn, "func", fn), "__name__", repr(fn))  # RateJax wraps it in a Partial
    x = np.linspace(-4, 4, 97, dtype=np.float32)
    t = np.resize(np.array([-0.7, 0.0, 0.3, 1.1], np.float32), x.shape)
    try:
        if _is_torch(mod):
            import torch
            with torch.no_grad():
                y = fn(torch.from_numpy(x.copy()), torch.from_numpy(t.copy()))
        else:
            y = fn(x, t)
        y = _np(y).astype(np.float64)
    except Exception as e:  # any failure of a user's callable: say which module
        raise ValueError(f"{where}: activation {name} could not be evaluated ({e})") from None
    z = (x - t).astype(np.float64)
    for act, f in _ACT_FNS.items():
        ref = f(z)
        if y.shape == ref.shape and np.all(np.abs(y - ref) <= 1e-6 * (1.0 + np.abs(ref))):
            return act
    raise ValueError(f"{where}: activation {name} has no ratenn equivalent: act_fn(x, threshold) must "
                     f"be f(x - threshold) for f one of tanh, relu, sigmoid ((tanh+1)/2), lrelu "
                     f"(slope 0.01), linear")


def _has_bias(mod):
    b = getattr(mod, "bias", None)
    return b is not None and np.ndim(_np(b)) == 1 and "bias" in mod.parameters()


def from_rockpool(module, dt=None, seed=0):
    """The ratenn Network equivalent to a Rockpool Sequential (or lone module), its parameter values
    and states included: LinearJax/LinearTorch/Linear -> linear (with or without bias, as the module),
    RateJax/RateTorch/Rate -> rate (w_rec, tau, bias, threshold; the state x as x0; noise_std; the
    NumPy Rate's τ as it simulates it, at least 10·dt), ExpSynJax/ExpSynTorch/ExpSyn -> lowpass (see
    below). The activation is recognised by its values, act_fn(x, threshold) = f(x - threshold) for
    f one of tanh, relu, sigmoid ((tanh+1)/2, Rockpool's H_sigmoid), lrelu (slope 0.01) or linear, so
    that RateTorch's own lambdas map too. dt: the rate and synapse modules' own dt unless given. Any
    other module, or a setting ratenn cannot reproduce, is a ValueError naming the module.

    The Torch and NumPy modules keep their last state after a call (the JAX ones do not): x0 is the
    state the module holds now, so map it before running it, or after its reset_state().

    ExpSyn: Rockpool's synapse computes I_t = β (I_{t-1} + u_t) with β = exp(-dt/τ), a DC gain of
    β / (1 - β), where ratenn's lowpass computes y_t = β y_{t-1} + (1 - β) u_t, a unit gain. Following a
    linear layer, the factor is folded into that layer's weights (and bias), so the outputs agree at
    the mapped τ; training τ afterwards changes Rockpool's gain but not ratenn's (a warning says so).
    Anywhere else the gain differs and a warning says that too. The NumPy ExpSyn sums the same
    terms by a convolution cut after 10·max(τ)/dt steps (max_window_length at most): past that, its
    output lacks the older terms, about e^-10 ≈ 4.5e-5 of it, which ratenn's recursion keeps."""
    kids = _children(module)
    dts = {float(np.asarray(m.dt)) for _, m in kids if hasattr(m, "dt")}
    if dt is None:
        if len(dts) > 1:
            raise ValueError(f"the modules' dt differ ({sorted(dts)}); pass dt=")
        dt = dts.pop() if dts else 1e-3
    net = Network(dt=dt, seed=seed)
    values, x0s, gains = {}, {}, {}
    try:
        prev_linear = None
        for li, (name, mod) in enumerate(kids):
            cls = type(mod).__name__
            where = f"module {name} ({cls})"
            if cls in _LINEAR:
                w = _np(mod.weight)
                bias = _has_bias(mod)
                net.linear(w.shape[0], w.shape[1], bias=bias)
                values[f"{li}_linear.weight"] = w
                if bias:
                    values[f"{li}_linear.bias"] = _np(mod.bias)
                prev_linear = li
                continue
            if cls in _RATE:
                n = int(mod.size_out)
                rec = "w_rec" in mod.parameters()
                noise = float(np.asarray(mod.noise_std))
                net.rate(n, activation=_activation(mod, where), recurrent=rec, noise_std=noise)
                p = f"{li}_rate."
                if rec:
                    values[p + "w_rec"] = _np(mod.w_rec)
                for leaf in ("tau", "bias", "threshold"):
                    values[p + leaf] = np.broadcast_to(_np(getattr(mod, leaf)), (n,)).copy()
                if cls == "Rate" and np.any(values[p + "tau"] < np.float32(10 * dt)):
                    # the NumPy Rate simulates with max(τ, 10·dt); the JAX and Torch ones do not
                    values[p + "tau"] = np.maximum(values[p + "tau"], np.float32(10 * dt))
                    warnings.warn(f"{where}: τ below 10·dt, which Rockpool's Rate simulates as 10·dt: "
                                  f"mapped to 10·dt")
                x0s[p + "x0"] = np.broadcast_to(_np(mod.x), (n,)).copy()
            elif cls in _EXPSYN:
                n = int(mod.size_out)
                if float(np.asarray(getattr(mod, "noise_std", 0.0))) != 0.0:
                    raise ValueError(f"{where}: noise_std > 0 has no ratenn equivalent on a synapse")
                tau = np.broadcast_to(_np(mod.tau), (n,)).copy()
                net.lowpass(n, float(tau[0]))
                values[f"{li}_lowpass.tau"] = tau
                beta = np.exp(-np.float64(dt) / tau.astype(np.float64))
                gain = (beta / (1.0 - beta)).astype(np.float32)
                # the state: with the gain folded into the linear layer, ratenn's y is Rockpool's I;
                # without, y = I / gain
                isyn = np.broadcast_to(_np(getattr(mod, "isyn", 0.0)), (n,))
                folded = prev_linear == li - 1
                values[f"{li}_lowpass.initial_level"] = (isyn if folded else isyn / gain).astype(np.float32)
                if folded:
                    gains[prev_linear] = gain
                    warnings.warn(f"{where}: Rockpool's ExpSyn has a DC gain of β/(1-β), ratenn's "
                                  f"lowpass of 1; the gain at the mapped τ is folded into layer "
                                  f"{prev_linear}'s weights, so outputs agree until τ is trained")
                else:
                    warnings.warn(f"{where}: Rockpool's ExpSyn has a DC gain of β/(1-β), ratenn's "
                                  f"lowpass of 1, and no linear layer precedes it to take the factor: "
                                  f"the outputs differ by that gain")
            else:
                raise ValueError(f"{where}: no ratenn equivalent (known: {', '.join(_LINEAR + _RATE + _EXPSYN)})")
            prev_linear = None
        for li, g in gains.items():
            values[f"{li}_linear.weight"] = values[f"{li}_linear.weight"] * g[None, :]
            if f"{li}_linear.bias" in values:
                values[f"{li}_linear.bias"] = values[f"{li}_linear.bias"] * g
        net.set_parameters(values)
        if any(np.any(x != 0) for x in x0s.values()):
            net.set_parameters(x0s)
        return net
    except BaseException:
        net.close()
        raise


_ROCKPOOL_NAMES = {"linear": "LinearJax", "rate": "RateJax", "lowpass": "ExpSynJax"}


def to_rockpool_parameters(net, module=None):
    """The nested dict Rockpool's set_attributes takes: {"0_LinearJax": {"weight": ..., "bias": ...},
    "1_RateJax": {"w_rec", "tau", "bias", "threshold"}, ...} (NumPy float32 arrays). With `module`
    (the Rockpool Sequential to receive them) its own sub-module names are used and only the
    attributes it has are given (no linear bias where the module has none), as torch tensors for
    its Torch sub-modules (on their device) and NumPy arrays for the others; without it, the JAX
    classes' names and NumPy arrays. A rate layer's x0 is a state in Rockpool, not a parameter: it
    is left out. A lowpass gives its τ only (its gain differs, see from_rockpool); alpha and
    doubleexp have no Rockpool module (ValueError)."""
    params = net.parameters()
    layers = net.layers()
    kids = _children(module) if module is not None else None
    if kids is not None and len(kids) != len(layers):
        raise ValueError(f"the network has {len(layers)} layers, the Rockpool module {len(kids)}")
    out = {}
    for li, (lname, kind, _) in enumerate(layers):
        if kind not in _ROCKPOOL_NAMES:
            raise ValueError(f"layer {lname}: Rockpool has no {kind} module")
        if kids is not None:
            rname, mod = kids[li]
            have = set(mod.parameters().keys())
        else:
            rname, have = f"{li}_{_ROCKPOOL_NAMES[kind]}", None
        d = {}
        for leaf, a in params[lname].items():
            if leaf in ("x0", "initial_level"):
                continue
            if have is not None and leaf not in have:
                if np.any(a != 0):
                    raise ValueError(f"{lname}.{leaf} is non-zero but {rname} has no '{leaf}'")
                continue
            d[leaf] = a
        if kids is not None and _is_torch(mod):
            # the Torch modules' set_attributes wraps each value in a torch Parameter: it must be a
            # tensor, on the device and of the dtype of the one it replaces
            import torch
            d = {k: torch.tensor(a, dtype=getattr(mod, k).dtype, device=getattr(mod, k).device)
                 for k, a in d.items()}
        out[rname] = d
    return out
