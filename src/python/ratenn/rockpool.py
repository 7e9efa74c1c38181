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
_ACT = {"H_tanh": "tanh", "H_ReLU": "relu", "H_sigmoid": "sigmoid"}


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


def _activation(mod, where):
    fn = getattr(mod, "act_fn", None)
    fn = getattr(fn, "func", fn)  # RateJax wraps it in jax.tree_util.Partial
    name = getattr(fn, "__name__", repr(fn))
    torch_rate = sys.modules.get("rockpool.nn.modules.torch.rate_torch")
    if torch_rate is not None and fn is getattr(torch_rate, "relu", None):
        return "relu"  # RateTorch's default, a lambda
    if name not in _ACT:
        raise ValueError(f"{where}: activation {name} has no ratenn equivalent (tanh, relu, sigmoid)")
    return _ACT[name]


def _has_bias(mod):
    b = getattr(mod, "bias", None)
    return b is not None and np.ndim(_np(b)) == 1 and "bias" in mod.parameters()


def from_rockpool(module, dt=None, seed=0):
    """The ratenn Network equivalent to a Rockpool Sequential (or lone module), its parameter values
    and states included: LinearJax/LinearTorch/Linear -> linear (with or without bias, as the module),
    RateJax/RateTorch/Rate -> rate (w_rec, tau, bias, threshold; the state x as x0; activation tanh,
    relu or sigmoid; noise_std; the NumPy Rate's τ as it simulates it, at least 10·dt), ExpSynJax/ExpSynTorch/ExpSyn -> lowpass (see below). dt: the rate and
    synapse modules' own dt unless given. Any other module, or a setting ratenn cannot reproduce, is a
    ValueError naming the module.

    ExpSyn: Rockpool's synapse computes I_t = β (I_{t-1} + u_t) with β = exp(-dt/τ), a DC gain of
    β / (1 - β), where ratenn's lowpass computes y_t = β y_{t-1} + (1 - β) u_t, a unit gain. Following a
    linear layer, the factor is folded into that layer's weights (and bias), so the outputs agree at
    the mapped τ; training τ afterwards changes Rockpool's gain but not ratenn's (a warning says so).
    Anywhere else the gain differs and a warning says that too."""
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
                isyn = np.broadcast_to(_np(getattr(mod, "isyn", 0.0)), (n,))
                values[f"{li}_lowpass.initial_level"] = (isyn / gain).astype(np.float32)
                if prev_linear == li - 1:
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
    attributes it has are given (no linear bias where the module has none); without it, the JAX
    classes' names. A rate layer's x0 is a state in Rockpool, not a parameter: it is left out. A
    lowpass gives its τ only (its gain differs, see from_rockpool); alpha and doubleexp have no
    Rockpool module (ValueError)."""
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
        out[rname] = d
    return out
