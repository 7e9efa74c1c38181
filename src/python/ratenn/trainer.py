"""ratenn.Trainer: BPTT training of a Network on a backend (include/ratenn/train.h)."""
import ctypes as C
from collections import namedtuple

import numpy as np

from . import _lib, _npz
from ._lib import call, fptr, lib
from .errors import Diverged, FormatError, ShapeError
from .network import as_btc, as_float32, split_name

LossParts = namedtuple("LossParts", "total mse bounds l2 grad_norm")
LossParts.__doc__ = ("The loss of one evaluation term by term (total = w_mse·mse + w_bounds·bounds + "
                     "w_l2·l2) and ‖∇L‖ before clipping.")
_BACKENDS = {"auto": 0, "cpu": 1, "cuda": 2}
_OPTIMIZERS = {"adam": 0, "sgd": 1}
_NOISE = {"fresh": 0, "frozen": 1}
_RECORDS = {"output": 0, "x": 1, "r": 2}


def _parts(lp):
    return LossParts(lp.total, lp.mse, lp.bounds, lp.l2, lp.grad_norm)


class Trainer(_lib.Handle):
    """Trains `net` by backpropagation through time (SPEC §3–§5) on one backend.

    backend: "auto" (CUDA when a device is usable), "cpu" or "cuda". optimizer "adam" or "sgd", lr,
    b1, b2, eps, clip_norm (0: off); loss weights w_mse, w_bounds, w_l2 (the tutorial's 1, 10, 1);
    seed: the noise seed (the CLI's --seed sets both this and the network's); noise: "fresh" (a new
    draw each epoch, the CLI's) or "frozen" (epoch 0's draw every epoch, as the Rockpool tutorial's
    loop). Data are NumPy arrays (T, C) or (B, T, C); the buffers are sized on the first data and
    re-sized (keeping the optimiser's state) when B or T changes. Close it (or use `with`) to free
    its memory at once; the network's parameters are then the trained ones."""

    def __init__(self, net, backend="auto", optimizer="adam", lr=1e-4, b1=0.9, b2=0.999, eps=1e-8,
                 clip_norm=0.0, w_mse=1.0, w_bounds=10.0, w_l2=1.0, seed=0, noise="fresh",
                 graphs=True):
        self._tr = None
        self._be = None
        if backend not in _BACKENDS:
            raise ValueError(f"backend '{backend}' is not one of auto, cpu, cuda")
        if optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer '{optimizer}' is neither 'adam' nor 'sgd'")
        if noise not in _NOISE:
            raise ValueError(f"noise '{noise}' is neither 'fresh' nor 'frozen'")
        cfg = lib.rn_train_config_default()
        cfg.optimizer = _OPTIMIZERS[optimizer]
        cfg.lr, cfg.b1, cfg.b2, cfg.eps = float(lr), float(b1), float(b2), float(eps)
        cfg.clip_norm, cfg.w_mse = float(clip_norm), float(w_mse)
        cfg.w_bounds, cfg.w_l2 = float(w_bounds), float(w_l2)
        cfg.noise_seed, cfg.graphs = int(seed), bool(graphs)
        self._cfg = cfg
        self.noise = noise
        self.net = net
        net._handle  # a closed network fails here
        be = C.c_void_p()
        call("rn_backend_create", C.byref(be), _BACKENDS[backend])
        self._be = be
        _lib._live["backend"] += 1
        self._shape = None         # (B, T) of the C trainer
        self._dirty = False        # the C trainer holds newer values than the network
        self._stale = False        # the network changed since the C trainer copied it
        self._pending = None       # optimiser state (m, v, epochs) for the next C trainer
        self._data = None
        net._trainers.add(self)

    # ---- lifetime ----
    @property
    def backend(self):
        """The backend in words, e.g. 'cpu (OpenBLAS)'."""
        return lib.rn_backend_description(self._live_backend()).decode()

    def _live_backend(self):
        if self._be is None:
            raise ValueError("this trainer has been closed")
        return self._be

    def _bound(self):
        return self._tr is not None

    def close(self):
        """Copies the trained values into the network and frees the C trainer and backend."""
        if self._tr is not None:
            try:
                self._pull_if_dirty()
            finally:
                lib.rn_trainer_free(self._tr)
                self._tr = None
                _lib._live["trainer"] -= 1
        if self._be is not None:
            lib.rn_backend_free(self._be)
            self._be = None
            _lib._live["backend"] -= 1
        self.net._trainers.discard(self)

    # ---- the C trainer, sized by the data ----
    def _ensure(self, B, T):
        if self._tr is not None and self._shape == (B, T):
            return
        state = None
        if self._tr is not None:  # re-sized: keep the trained values and the optimiser's state
            state = self._optimizer_state()
            self._pull_if_dirty()
            lib.rn_trainer_free(self._tr)
            self._tr = None
            _lib._live["trainer"] -= 1
        self.net._sync()  # another trainer of this network may hold newer values
        tr = C.c_void_p()
        call("rn_trainer_create", C.byref(tr), self.net._handle, self._live_backend(),
             C.byref(self._cfg), int(B), int(T))
        self._tr = tr
        _lib._live["trainer"] += 1
        self._shape = (B, T)
        self._stale = False
        self._data = None
        call("rn_trainer_set_noise_mode", tr, _NOISE[self.noise])
        state = self._pending or state
        self._pending = None
        if state is not None:
            self._set_optimizer_state(*state)

    def _pull_if_dirty(self):
        if self._tr is not None and self._dirty:
            call("rn_trainer_pull_params", self._tr)
            self._dirty = False
            for t in list(self.net._trainers):  # the others now hold older values
                if t is not self:
                    t._stale = True

    def _push_if_stale(self):
        if self._stale:
            call("rn_trainer_push_params", self._tr)
            self._stale = False

    def set_data(self, input, target=None, mask=None):
        """Sets input (T, C_in) or (B, T, C_in), target of the same B and T with C_out (None: forward
        only), and mask (T,) or (B, T) weighting time steps (None: all count)."""
        u, two_d = as_btc(input, "input")
        B, T, _ = u.shape
        y = m = None
        if target is not None:
            y, _ = as_btc(target, "target")
            if y.shape[:2] != (B, T):
                raise ShapeError(f"target: shape {y.shape} does not match the input's (B, T) = {(B, T)}")
        if mask is not None:
            m = as_float32(mask, "mask")
            if m.ndim == 1:
                m = m[None]
            if m.shape != (B, T):
                raise ShapeError(f"mask: shape {m.shape} given, expected (B, T) = {(B, T)}")
        net = self.net
        if u.shape[2] != net.input_size:
            raise ShapeError(f"input: {u.shape[2]} channels, the network takes {net.input_size}")
        if y is not None and y.shape[2] != net.output_size:
            raise ShapeError(f"target: {y.shape[2]} channels, the network gives {net.output_size}")
        self._ensure(B, T)
        call("rn_trainer_set_data", self._tr, fptr(u), fptr(y), fptr(m))
        self._data = (u, y, m, two_d)

    def _with_data(self, input, target, mask):
        if input is not None:
            self.set_data(input, target, mask)
        elif self._data is None or self._data[1] is None:
            raise ValueError("no data: pass input and target (or call set_data first)")
        self._push_if_stale()

    # ---- training ----
    def step(self, input=None, target=None, mask=None):
        """One epoch: forward, loss, backward and an optimiser step. Returns the loss before the step
        (LossParts). A non-finite loss or gradient raises ratenn.Diverged and changes nothing."""
        self._with_data(input, target, mask)
        lp = _lib.LossParts()
        call("rn_trainer_epoch", self._tr, C.byref(lp))
        self._dirty = True
        return _parts(lp)

    def gradients(self, input=None, target=None, mask=None):
        """The loss and every parameter's gradient at the current values, without a step:
        (LossParts, {"1_rate": {"tau": array, ...}, ...}). Frozen parameters are left out."""
        self._with_data(input, target, mask)
        lp = _lib.LossParts()
        call("rn_trainer_compute_gradients", self._tr, C.byref(lp))
        grads = {}
        for p in self.net.parameter_info():
            if not p.trainable:
                continue
            g = np.empty(p.shape, np.float32)
            call("rn_trainer_get_grad", self._tr, p.name.encode(), fptr(g), g.size)
            layer, leaf = split_name(p.name)
            grads.setdefault(layer, {})[leaf] = g
        return _parts(lp), grads

    def fit(self, input, target, epochs, mask=None, callback=None, progress=True):
        """Trains for `epochs` epochs and returns the loss history, {"loss", "mse", "bounds", "l2",
        "grad_norm"} as float64 arrays of one value per epoch (before its step). callback(epoch,
        parts) runs after each epoch (epoch counts from 0 in this call); returning True stops early.
        progress: a tqdm bar (False: none). On divergence raises ratenn.Diverged with `.history`
        holding the epochs done before it."""
        self.set_data(input, target, mask)
        hist = []
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=int(epochs), desc="ratenn", unit="epoch")
        try:
            for e in range(int(epochs)):
                try:
                    parts = self.step()
                except Diverged as d:
                    d.history = _history(hist)
                    raise
                hist.append(parts)
                if bar is not None:
                    bar.update(1)
                    if e % 50 == 0 or e == epochs - 1:
                        bar.set_postfix(loss=f"{parts.total:.4g}", mse=f"{parts.mse:.4g}")
                if callback is not None and callback(e, parts):
                    break
        finally:
            if bar is not None:
                bar.close()
        return _history(hist)

    @property
    def epochs_done(self):
        """Optimiser steps taken (also the noise epoch of the next one with noise='fresh')."""
        if self._tr is None:
            return self._pending[2] if self._pending else 0
        return int(lib.rn_trainer_epochs_done(self._tr))

    @property
    def memory_bytes(self):
        """The backend arena's size (0 before any data)."""
        return int(lib.rn_trainer_memory_bytes(self._tr)) if self._tr is not None else 0

    def _forward(self, u, noise, record):
        """(output (B, T, C_out), records) of the network on u (B, T, C_in); no target needed."""
        self.set_data(u, None, None)
        self._push_if_stale()
        B, T, _ = u.shape
        out = np.empty((B, T, self.net.output_size), np.float32)
        call("rn_trainer_forward", self._tr, fptr(out), bool(noise))
        rec = {}
        if record:
            for li, (name, kind, width) in enumerate(self.net.layers()):
                quantities = ("output", "x", "r") if kind == "rate" else ("output",)
                for q in quantities:
                    a = np.empty((B, T, width), np.float32)
                    call("rn_trainer_get_record", self._tr, li, _RECORDS[q], fptr(a), a.size)
                    rec.setdefault(name, {})[q] = a
        return out, rec

    def evolve(self, input, record=False, noise=False):
        """The network's output on input at the trainer's current values (see Network.evolve), with
        the trainer's noise seed and mode; replaces the data set for training."""
        u, squeeze = as_btc(input, "input")
        out, rec = self._forward(u, noise, record)
        if squeeze:
            out = out[0]
            rec = {k: {q: a[0] for q, a in v.items()} for k, v in rec.items()}
        return (out, rec) if record else out

    # ---- checkpoints: the CLI's checkpoint.npz ----
    def _optimizer_state(self):
        P = int(lib.rn_net_param_total(self.net._handle))
        m = np.empty(P, np.float32)
        v = np.empty(P, np.float32)
        done = C.c_int64(0)
        call("rn_trainer_get_optimizer_state", self._tr, fptr(m), fptr(v), P, C.byref(done))
        return m, v, int(done.value)

    def _set_optimizer_state(self, m, v, done):
        call("rn_trainer_set_optimizer_state", self._tr, fptr(m), fptr(v), m.size, int(done))

    def save_checkpoint(self, path):
        """Writes the parameters, Adam's moments and the epoch count as the CLI's checkpoint.npz
        (members '<name>', 'adam.m/<name>', 'adam.v/<name>', 'epochs_done'), atomically; a CLI run
        resumes from it (ratenn train --resume DIR) and load_checkpoint from the CLI's."""
        if self._tr is not None:
            self._pull_if_dirty()
            m, v, done = self._optimizer_state()
        elif self._pending is not None:
            m, v, done = self._pending
        else:
            P = int(lib.rn_net_param_total(self.net._handle))
            m, v, done = np.zeros(P, np.float32), np.zeros(P, np.float32), 0
        params = self.net.parameters(flat=True)
        arrays = dict(params)
        off = 0
        for name, a in params.items():
            arrays["adam.m/" + name] = m[off:off + a.size].reshape(a.shape)
            arrays["adam.v/" + name] = v[off:off + a.size].reshape(a.shape)
            off += a.size
        # two float32 words, high and low 20 bits (exact up to 2^44 epochs), as the CLI writes it
        arrays["epochs_done"] = np.array([done >> 20, done & 0xFFFFF], np.float32)
        _npz.write(path, arrays)

    def load_checkpoint(self, path):
        """Restores parameters, Adam's moments and the epoch count from a checkpoint.npz written by
        save_checkpoint or by the CLI; the run then continues bit for bit."""
        a = _npz.read(path)
        e = a.get("epochs_done")
        if (e is None or e.size != 2 or not np.all(np.isfinite(e)) or np.any(e < 0) or
                np.any(e >= 1 << 20) or np.any(e != np.floor(e))):
            raise FormatError(f"{path}: no valid 'epochs_done'")
        done = (int(e[0]) << 20) + int(e[1])
        ms, vs, params = [], [], {}
        for p in self.net.parameter_info():
            keys = (p.name, "adam.m/" + p.name, "adam.v/" + p.name)
            if any(k not in a or a[k].size != int(np.prod(p.shape)) for k in keys):
                raise FormatError(f"{path} lacks '{p.name}' (or its Adam moments) with "
                                  f"{int(np.prod(p.shape))} elements")
            params[p.name] = a[p.name].reshape(p.shape)
            ms.append(a[keys[1]].ravel())
            vs.append(a[keys[2]].ravel())
        m = np.ascontiguousarray(np.concatenate(ms), np.float32)
        v = np.ascontiguousarray(np.concatenate(vs), np.float32)
        self.net.set_parameters(params)
        if self._tr is not None:
            self._push_if_stale()
            self._set_optimizer_state(m, v, done)
        else:
            self._pending = (m, v, done)


def _history(parts):
    cols = list(zip(*parts)) if parts else [()] * 5
    return {k: np.array(c, np.float64) for k, c in zip(("loss", "mse", "bounds", "l2", "grad_norm"), cols)}
