"""ratenn.Network: a Sequential chain of layers over the C library's rn_net (include/ratenn/net.h)."""
import ctypes as C
import json
import math
import weakref
from collections import namedtuple

import numpy as np

from . import _lib
from ._lib import call, fptr, lib
from .errors import NotFound, ShapeError

ACTIVATIONS = {"tanh": 0, "relu": 1, "sigmoid": 2, "lrelu": 3, "linear": 4}
_ACT_NAMES = {v: k for k, v in ACTIVATIONS.items()}
_KINDS = {"linear": 0, "rate": 1, "lowpass": 2, "alpha": 3, "doubleexp": 4}
_BOUND_MODES = {"penalty": 0, "clip": 1}

ParamInfo = namedtuple("ParamInfo", "name layer shape trainable lower upper bound_mode")


def _g(x):
    """The shortest text that reads back as the same float32 (0.1, not 0.100000001)."""
    return np.format_float_positional(np.float32(x), trim="-")


def as_float32(a, what):
    """A C-contiguous float32 copy-or-view of a, or a ValueError naming `what`."""
    try:
        return np.ascontiguousarray(a, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ShapeError(f"{what}: not an array of numbers ({e})") from None


def as_btc(a, what):
    """(T, C) or (B, T, C) as float32 (B, T, C), and whether it was 2-D."""
    a = as_float32(a, what)
    if a.ndim == 2:
        return a[None], True
    if a.ndim != 3:
        raise ShapeError(f"{what}: expected (T, C) or (B, T, C), got shape {a.shape}")
    return a, False


def split_name(name):
    """'1_rate.tau' -> ('1_rate', 'tau')."""
    layer, _, leaf = name.partition(".")
    return layer, leaf


class Network(_lib.Handle):
    """A network of layers: linear, rate, lowpass, alpha, doubleexp (SPEC §2).

    Build it layer by layer (``Network(dt=1e-3, seed=0).linear(1, 50).rate(50, noise_std=0.1)
    .linear(50, 1)``) or from the CLI's spec string or JSON (``Network.from_spec(...)``). Parameters are
    named as in the C library and the CLI's params.npz: ``"1_rate.tau"``; ``parameters()`` nests them as
    ``{"1_rate": {"tau": array}}``, like Rockpool's ``parameters()``."""

    def __init__(self, dt=1e-3, seed=0, _handle=None):
        self._h = None
        self._trainers = weakref.WeakSet()  # trainers bound to this network (see _sync)
        if _handle is None:
            h = C.c_void_p()
            call("rn_net_create", C.byref(h), float(dt), int(seed))
            _handle = h
        self._h = _handle
        _lib._live["net"] += 1
        self.seed = int(seed)

    # ---- construction ----
    @classmethod
    def from_spec(cls, spec, dt=1e-3, seed=0):
        """From the CLI's --net text: 'linear(1,50) rate(50,tanh,rec,noise=0.1) linear(50,1)'."""
        h = C.c_void_p()
        call("rn_net_from_spec", C.byref(h), spec.encode(), float(dt), int(seed))
        return cls(dt, seed, _handle=h)

    @classmethod
    def from_json(cls, doc, dt=1e-3, seed=0):
        """From the CLI's JSON network ({"layers": [...]}); doc is a string or a dict."""
        if not isinstance(doc, str):
            doc = json.dumps(doc)
        h = C.c_void_p()
        call("rn_net_from_json", C.byref(h), doc.encode(), float(dt), int(seed))
        return cls(dt, seed, _handle=h)

    def _adding(self):
        if any(t._bound() for t in self._trainers):
            raise ValueError("cannot add a layer to a network a trainer is bound to (close it first)")
        return self._handle

    def linear(self, n_in, n_out, bias=True):
        """Appends y = x·W + b (W (n_in, n_out); Kaiming-uniform init). Returns self."""
        call("rn_net_add_linear", self._adding(), int(n_in), int(n_out), bool(bias))
        return self

    def rate(self, n, activation="tanh", recurrent=True, noise_std=0.0, tau=0.02):
        """Appends a rate layer of n neurons with Rockpool RateJax's equations. Returns self."""
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation '{activation}' is not one of {', '.join(ACTIVATIONS)}")
        o = lib.rn_rate_options_default(int(n))
        o.n, o.recurrent, o.activation = int(n), bool(recurrent), ACTIVATIONS[activation]
        o.noise_std, o.tau = float(noise_std), float(tau)
        call("rn_net_add_rate", self._adding(), C.byref(o))
        return self

    def lowpass(self, channels, tau):
        """Appends one first-order ZOH synaptic stage per channel (tau, initial_level). Returns self."""
        call("rn_net_add_filter", self._adding(), _KINDS["lowpass"], int(channels), float(tau), 0.0)
        return self

    def alpha(self, channels, tau):
        """Appends two stages sharing one τ per channel. Returns self."""
        call("rn_net_add_filter", self._adding(), _KINDS["alpha"], int(channels), float(tau), 0.0)
        return self

    def doubleexp(self, channels, tau1, tau2):
        """Appends two stages, τ1 then τ2, per channel. Returns self."""
        call("rn_net_add_filter", self._adding(), _KINDS["doubleexp"], int(channels), float(tau1),
             float(tau2))
        return self

    # ---- lifetime ----
    @property
    def _handle(self):
        if self._h is None:
            raise ValueError("this network has been closed")
        return self._h

    def close(self):
        """Frees the C network (and closes every trainer bound to it). Idempotent."""
        for t in list(self._trainers):
            t.close()
        if self._h is not None:
            lib.rn_net_free(self._h)
            self._h = None
            _lib._live["net"] -= 1

    # ---- description ----
    @property
    def dt(self):
        return float(lib.rn_net_dt(self._handle))

    @property
    def input_size(self):
        return int(lib.rn_net_input_size(self._handle))

    @property
    def output_size(self):
        return int(lib.rn_net_output_size(self._handle))

    def layers(self):
        """[(name, kind, width)], e.g. [('0_linear', 'linear', 50), ('1_rate', 'rate', 50), ...]."""
        h = self._handle
        out = []
        for i in range(lib.rn_net_layer_count(h)):
            kind = lib.rn_layer_kind_name(lib.rn_net_layer_kind(h, i)).decode()
            out.append((f"{i}_{kind}", kind, int(lib.rn_net_layer_width(h, i))))
        return out

    def rate_options(self, layer):
        """A rate layer's settings as a dict (n, recurrent, activation, noise_std, tau)."""
        o = _lib.RateOptions()
        call("rn_net_rate_options", self._handle, int(layer), C.byref(o))
        return {"n": o.n, "recurrent": bool(o.recurrent), "activation": _ACT_NAMES[o.activation],
                "noise_std": float(o.noise_std), "tau": float(o.tau)}

    def set_noise(self, layer, noise_std):
        """Changes a rate layer's noise σ."""
        self._sync()
        call("rn_net_set_noise", self._handle, int(layer), float(noise_std))
        self._changed()

    def spec(self):
        """The network as the CLI's --net spec string (layer sizes and settings, not values)."""
        parts = []
        for i, (name, kind, width) in enumerate(self.layers()):
            info = {p.name.split(".", 1)[1]: p for p in self.parameter_info() if p.name.startswith(name + ".")}
            if kind == "linear":
                w = info["weight"].shape
                parts.append(f"linear({w[0]},{w[1]}{'' if 'bias' in info else ',bias=false'})")
            elif kind == "rate":
                o = self.rate_options(i)
                parts.append(f"rate({o['n']},{o['activation']},{'rec' if o['recurrent'] else 'ff'},"
                             f"noise={_g(o['noise_std'])},tau={_g(o['tau'])})")
            else:
                p = self.parameters()[name]
                if kind == "doubleexp":
                    parts.append(f"doubleexp({width},tau1={_g(p['tau1'][0])},tau2={_g(p['tau2'][0])})")
                else:
                    parts.append(f"{kind}({width},tau={_g(p['tau'][0])})")
        return " ".join(parts)

    def __repr__(self):
        if self._h is None:
            return "Network(<closed>)"
        return f"Network.from_spec({self.spec()!r}, dt={_g(self.dt)})"

    # ---- parameters ----
    def parameter_info(self):
        """Every parameter tensor, in the network's order, as ParamInfo named tuples."""
        h = self._handle
        out = []
        for i in range(lib.rn_net_param_count(h)):
            pi = _lib.ParamInfo()
            call("rn_net_param_info", h, i, C.byref(pi))
            shape = tuple(int(pi.shape[k]) for k in range(pi.ndim))
            out.append(ParamInfo(pi.name.decode(), pi.layer, shape, bool(pi.trainable),
                                 float(pi.lower), float(pi.upper),
                                 "clip" if pi.bound_mode == 1 else "penalty"))
        return out

    def _info(self, name):
        for p in self.parameter_info():
            if p.name == name:
                return p
        raise NotFound(f"no parameter named '{name}' (the network has "
                       f"{', '.join(p.name for p in self.parameter_info())})")

    def _get(self, name, shape):
        a = np.empty(shape, np.float32)
        call("rn_net_get_param", self._handle, name.encode(), fptr(a), a.size)
        return a

    def parameters(self, flat=False):
        """Every parameter's value as NumPy float32 arrays: {"1_rate": {"tau": array, ...}, ...}, or
        {"1_rate.tau": array} with flat=True. Values a trainer has trained are fetched first."""
        self._sync()
        out = {}
        for p in self.parameter_info():
            a = self._get(p.name, p.shape)
            if flat:
                out[p.name] = a
            else:
                layer, leaf = split_name(p.name)
                out.setdefault(layer, {})[leaf] = a
        return out

    def set_parameters(self, params):
        """Sets values from a nested dict ({"1_rate": {"tau": ...}}) or a flat one ({"1_rate.tau":
        ...}); any subset of the parameters. Every name and shape is checked before anything changes,
        and a value the library refuses (non-finite, τ <= 0) leaves every parameter as it was."""
        flat = {}
        for k, v in params.items():
            if isinstance(v, dict):
                for leaf, a in v.items():
                    flat[f"{k}.{leaf}"] = a
            else:
                flat[k] = v
        infos = {p.name: p for p in self.parameter_info()}
        checked = {}
        for name, a in flat.items():
            if name not in infos:
                raise NotFound(f"no parameter named '{name}' (the network has {', '.join(infos)})")
            a = as_float32(a, name)
            if a.shape != infos[name].shape:
                raise ShapeError(f"{name}: shape {a.shape} given, the parameter is {infos[name].shape}")
            checked[name] = a
        self._sync()
        before = {n: self._get(n, infos[n].shape) for n in checked}
        try:
            for name, a in checked.items():
                call("rn_net_set_param", self._handle, name.encode(), fptr(a), a.size)
        except BaseException:
            for name, a in before.items():
                lib.rn_net_set_param(self._handle, name.encode(), fptr(a), a.size, None)
            raise
        self._changed()

    def set_trainable(self, name, trainable=True):
        self._sync()
        call("rn_net_set_trainable", self._handle, name.encode(), bool(trainable))
        self._changed()

    def freeze(self, *names):
        """Makes the named parameters constant (Rockpool's Constant)."""
        for n in names:
            self.set_trainable(n, False)

    def unfreeze(self, *names):
        for n in names:
            self.set_trainable(n, True)

    def set_bounds(self, name, lower=-math.inf, upper=math.inf, mode="penalty"):
        """Bounds of a parameter: mode "penalty" (Rockpool's bounds_cost, weighted by w_bounds) or
        "clip" (projected after each step)."""
        if mode not in _BOUND_MODES:
            raise ValueError(f"bound mode '{mode}' is neither 'penalty' nor 'clip'")
        self._sync()
        call("rn_net_set_bounds", self._handle, name.encode(), float(lower), float(upper),
             _BOUND_MODES[mode])
        self._changed()

    def save_parameters(self, path):
        """Writes every parameter to a .npz as the CLI's params.npz (atomically)."""
        from . import _npz
        _npz.write(path, self.parameters(flat=True))

    def load_parameters(self, path):
        """Sets parameters from a .npz (the CLI's params.npz, or any with members named like
        '1_rate.tau'); names and shapes are checked as by set_parameters (the CLI's --init)."""
        from . import _npz
        self.set_parameters(_npz.read(path))

    # ---- the trainers bound to this network hold newer values while they train ----
    def _sync(self):
        for t in list(self._trainers):
            t._pull_if_dirty()

    def _changed(self):
        for t in list(self._trainers):
            t._stale = True

    # ---- running it ----
    def evolve(self, input, record=False, noise=False, seed=0, backend="cpu"):
        """Runs the network on input (T, C) or (B, T, C) and returns its output of the same rank;
        with record=True, returns (output, record) where record[layer_name] holds the layer's
        "output" and, for a rate layer, its state "x" and recurrent input "r". noise=True adds each
        rate layer's noise (seed as the trainer's noise seed, epoch 0)."""
        from .trainer import Trainer
        u, squeeze = as_btc(input, "input")
        with Trainer(self, backend=backend, seed=seed) as tr:
            out, rec = tr._forward(u, noise, record)
        if squeeze:
            out = out[0]
            rec = {k: {q: a[0] for q, a in v.items()} for k, v in rec.items()}
        return (out, rec) if record else out
