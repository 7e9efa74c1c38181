"""The ctypes binding: libratenn's public C API (include/ratenn/*.h), declared once, and the call
wrapper that turns every failed rn_status into a Python exception. Nothing here computes anything."""
import ctypes as C
import os

from . import errors

c_float_p = C.POINTER(C.c_float)


class Error(C.Structure):  # rn_error
    _fields_ = [("status", C.c_int), ("message", C.c_char * 512)]


class RateOptions(C.Structure):  # rn_rate_options
    _fields_ = [("n", C.c_int), ("recurrent", C.c_bool), ("activation", C.c_int),
                ("noise_std", C.c_float), ("tau", C.c_float)]


class ParamInfo(C.Structure):  # rn_param_info
    _fields_ = [("name", C.c_char_p), ("layer", C.c_int), ("count", C.c_size_t), ("ndim", C.c_int),
                ("shape", C.c_size_t * 2), ("trainable", C.c_bool), ("lower", C.c_float),
                ("upper", C.c_float), ("bound_mode", C.c_int)]


class TrainConfig(C.Structure):  # rn_train_config
    _fields_ = [("optimizer", C.c_int), ("lr", C.c_float), ("b1", C.c_float), ("b2", C.c_float),
                ("eps", C.c_float), ("clip_norm", C.c_float), ("w_mse", C.c_float),
                ("w_bounds", C.c_float), ("w_l2", C.c_float), ("noise_seed", C.c_uint64),
                ("graphs", C.c_bool)]


class LossParts(C.Structure):  # rn_loss_parts
    _fields_ = [("total", C.c_double), ("mse", C.c_double), ("bounds", C.c_double),
                ("l2", C.c_double), ("grad_norm", C.c_double), ("device_ms", C.c_double)]


class Array(C.Structure):  # rn_array
    _fields_ = [("name", C.c_char * 128), ("ndim", C.c_int), ("shape", C.c_size_t * 8),
                ("count", C.c_size_t), ("data", c_float_p)]


class ChirpOptions(C.Structure):  # rn_chirp_options
    _fields_ = [("num_repeats", C.c_int), ("pulse_duration", C.c_double),
                ("chirp_freq_factor", C.c_double), ("padding_duration", C.c_double),
                ("chirp_duration", C.c_double), ("dt", C.c_double)]


class SynapseOptions(C.Structure):  # rn_synapse_options
    _fields_ = [("duration", C.c_double), ("dt", C.c_double), ("tau", C.c_double), ("tau2", C.c_double)]


_STRUCTS = {"rn_error": Error, "rn_rate_options": RateOptions, "rn_param_info": ParamInfo,
            "rn_train_config": TrainConfig, "rn_loss_parts": LossParts, "rn_array": Array,
            "rn_chirp_options": ChirpOptions, "rn_synapse_options": SynapseOptions}

_CNAME = {py: cname for cname, py in _STRUCTS.items()}


def _retarget(t, cache):
    """An argtype with a struct (or a pointer to one, or to a pointer to one) replaced by its padded
    version where _load padded it."""
    if t in _CNAME:
        return _STRUCTS[_CNAME[t]]
    inner = getattr(t, "_type_", None)
    if isinstance(inner, type) and issubclass(inner, (C.Structure, C._Pointer)):
        new = _retarget(inner, cache)
        if new is not inner:
            return C.POINTER(new)
    return t


P = C.c_void_p
st = C.c_int  # rn_status
ERR = C.POINTER(Error)
# name: (restype, argtypes); every function returning st takes an rn_error * last
_FUNCS = {
    "rn_version": (C.c_char_p, []),
    "rn_struct_size": (C.c_size_t, [C.c_char_p]),
    "rn_status_string": (C.c_char_p, [C.c_int]),
    # backend.h
    "rn_backend_create": (st, [C.POINTER(P), C.c_int, ERR]),
    "rn_backend_free": (None, [P]),
    "rn_backend_get_kind": (C.c_int, [P]),
    "rn_backend_description": (C.c_char_p, [P]),
    "rn_backend_kind_parse": (st, [C.c_char_p, C.POINTER(C.c_int), ERR]),
    "rn_cuda_built": (C.c_bool, []),
    "rn_cuda_device_count": (C.c_int, []),
    # net.h
    "rn_rate_options_default": (RateOptions, [C.c_int]),
    "rn_net_create": (st, [C.POINTER(P), C.c_float, C.c_uint64, ERR]),
    "rn_net_free": (None, [P]),
    "rn_net_add_linear": (st, [P, C.c_int, C.c_int, C.c_bool, ERR]),
    "rn_net_add_rate": (st, [P, C.POINTER(RateOptions), ERR]),
    "rn_net_add_filter": (st, [P, C.c_int, C.c_int, C.c_float, C.c_float, ERR]),
    "rn_net_from_spec": (st, [C.POINTER(P), C.c_char_p, C.c_float, C.c_uint64, ERR]),
    "rn_net_from_json": (st, [C.POINTER(P), C.c_char_p, C.c_float, C.c_uint64, ERR]),
    "rn_net_dt": (C.c_float, [P]),
    "rn_net_layer_count": (C.c_int, [P]),
    "rn_net_layer_kind": (C.c_int, [P, C.c_int]),
    "rn_layer_kind_name": (C.c_char_p, [C.c_int]),
    "rn_net_input_size": (C.c_int, [P]),
    "rn_net_output_size": (C.c_int, [P]),
    "rn_net_layer_width": (C.c_int, [P, C.c_int]),
    "rn_net_rate_options": (st, [P, C.c_int, C.POINTER(RateOptions), ERR]),
    "rn_net_set_noise": (st, [P, C.c_int, C.c_float, ERR]),
    "rn_net_param_count": (C.c_int, [P]),
    "rn_net_param_total": (C.c_size_t, [P]),
    "rn_net_param_info": (st, [P, C.c_int, C.POINTER(ParamInfo), ERR]),
    "rn_net_param_index": (C.c_int, [P, C.c_char_p]),
    "rn_net_get_param": (st, [P, C.c_char_p, c_float_p, C.c_size_t, ERR]),
    "rn_net_set_param": (st, [P, C.c_char_p, c_float_p, C.c_size_t, ERR]),
    "rn_net_set_trainable": (st, [P, C.c_char_p, C.c_bool, ERR]),
    "rn_net_set_bounds": (st, [P, C.c_char_p, C.c_float, C.c_float, C.c_int, ERR]),
    # train.h
    "rn_train_config_default": (TrainConfig, []),
    "rn_trainer_create": (st, [C.POINTER(P), P, P, C.POINTER(TrainConfig), C.c_int, C.c_int, ERR]),
    "rn_trainer_free": (None, [P]),
    "rn_trainer_set_data": (st, [P, c_float_p, c_float_p, c_float_p, ERR]),
    "rn_trainer_compute_gradients": (st, [P, C.POINTER(LossParts), ERR]),
    "rn_trainer_epoch": (st, [P, C.POINTER(LossParts), ERR]),
    "rn_trainer_forward": (st, [P, c_float_p, C.c_bool, ERR]),
    "rn_trainer_get_record": (st, [P, C.c_int, C.c_int, c_float_p, C.c_size_t, ERR]),
    "rn_trainer_get_grad": (st, [P, C.c_char_p, c_float_p, C.c_size_t, ERR]),
    "rn_trainer_pull_params": (st, [P, ERR]),
    "rn_trainer_push_params": (st, [P, ERR]),
    "rn_trainer_get_optimizer_state": (st, [P, c_float_p, c_float_p, C.c_size_t,
                                            C.POINTER(C.c_int64), ERR]),
    "rn_trainer_set_optimizer_state": (st, [P, c_float_p, c_float_p, C.c_size_t, C.c_int64, ERR]),
    "rn_trainer_epochs_done": (C.c_int64, [P]),
    "rn_trainer_memory_bytes": (C.c_size_t, [P]),
    "rn_trainer_set_noise_mode": (st, [P, C.c_int, ERR]),
    # io.h
    "rn_npz_write": (st, [C.c_char_p, C.POINTER(Array), C.c_int, ERR]),
    "rn_npz_read": (st, [C.c_char_p, C.POINTER(C.POINTER(Array)), C.POINTER(C.c_int), ERR]),
    "rn_arrays_free": (None, [C.POINTER(Array), C.c_int]),
    # tasks.h
    "rn_chirp_options_default": (ChirpOptions, []),
    "rn_chirp_steps": (st, [C.POINTER(ChirpOptions), C.POINTER(C.c_int), ERR]),
    "rn_chirp_generate": (st, [C.POINTER(ChirpOptions), c_float_p, c_float_p, C.c_int, ERR]),
    "rn_synapse_options_default": (SynapseOptions, []),
    "rn_synapse_steps": (st, [C.POINTER(SynapseOptions), C.POINTER(C.c_int), ERR]),
    "rn_synapse_generate": (st, [C.POINTER(SynapseOptions), c_float_p, c_float_p, C.c_int, ERR]),
}


def _find_library():
    """libratenn.so beside this file (pip install .); RATENN_LIBRARY overrides (a build tree's)."""
    path = os.environ.get("RATENN_LIBRARY")
    if path:
        return os.path.abspath(path)
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("libratenn.so", "libratenn.dylib", "ratenn.dll"):
        if os.path.exists(os.path.join(here, name)):
            return os.path.join(here, name)
    raise ImportError(f"ratenn: the shared library libratenn.so is not in {here}; install the package "
                      "with 'pip install .' at the repository root, or point RATENN_LIBRARY at a "
                      "libratenn.so built with -DRATENN_SHARED=ON")


def _padded(cls, extra):
    """cls with `extra` bytes at its end: the library's struct gained fields this binding does not
    know (they keep the values the library's *_default() functions give them)."""
    return type(cls.__name__, (cls,), {"_fields_": [("_unknown_tail", C.c_char * extra)]})


def _check_defaults(lib, path):
    """The fields this binding names must be where the library keeps them: its defaults read back."""
    c, r = lib.rn_train_config_default(), lib.rn_rate_options_default(7)
    ch, sy = lib.rn_chirp_options_default(), lib.rn_synapse_options_default()
    ok = (c.optimizer == 0 and abs(c.lr - 1e-4) < 1e-9 and abs(c.b1 - 0.9) < 1e-7 and
          abs(c.b2 - 0.999) < 1e-7 and abs(c.eps - 1e-8) < 1e-12 and c.clip_norm == 0 and
          c.w_mse == 1 and c.w_bounds == 10 and c.w_l2 == 1 and c.noise_seed == 0 and c.graphs and
          r.n == 7 and r.recurrent and r.activation == 0 and r.noise_std == 0 and abs(r.tau - 0.02) < 1e-9 and
          ch.num_repeats == 1 and ch.chirp_freq_factor == 10 and ch.dt == 1e-3 and
          sy.duration == 1 and sy.dt == 1e-3 and sy.tau == 0.1 and sy.tau2 == 0)
    if not ok:
        raise ImportError(f"ratenn: the public structs in {path} are laid out differently from "
                          f"{__file__}'s declarations: update them from include/ratenn/")


def _load():
    path = _find_library()
    # The CPU backend's OpenMP threads wait passively, as the CLI's do (src/cli/cli_openmp.c says why:
    # spinning against OpenBLAS's threads made small epochs several times slower). libgomp reads
    # this when it loads, here with the library, unless the process has it already; a policy the
    # user set stays.
    if "GOMP_SPINCOUNT" not in os.environ:
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    try:
        lib = C.CDLL(path)
    except OSError as e:
        # torch's wheels bundle an older libgomp under the same soname: loaded first, it is the one
        # the process has, and it lacks the OpenMP 5.0 functions the library links
        if "OMP_" not in str(e):
            raise
        raise ImportError(f"ratenn: {e}: the OpenMP runtime already loaded in this process (torch "
                          f"bundles an older libgomp) lacks a version libratenn needs; import "
                          f"ratenn before torch (and before rockpool, which imports torch where it "
                          f"is installed)") from None
    lib.rn_struct_size.restype = C.c_size_t
    lib.rn_struct_size.argtypes = [C.c_char_p]
    # A struct that gained fields at its end in C is padded here to the library's size, so that
    # by-value returns and array strides stay right; a smaller one cannot be mapped.
    g = globals()
    for cname, py in list(_STRUCTS.items()):
        size = lib.rn_struct_size(cname.encode())
        if size < C.sizeof(py) or size == 0:
            raise ImportError(f"ratenn: {cname} is {size} bytes in {path} but {C.sizeof(py)} in "
                              f"{__file__}: update the binding's declaration from include/ratenn/")
        if size > C.sizeof(py):
            padded = _padded(py, size - C.sizeof(py))
            if C.sizeof(padded) != size:
                raise ImportError(f"ratenn: cannot pad {cname} to the library's {size} bytes")
            _STRUCTS[cname] = g[py.__name__] = padded
    by_old = {}
    for name, (res, args) in _FUNCS.items():
        try:
            f = getattr(lib, name)
        except AttributeError:
            raise ImportError(f"ratenn: {path} lacks {name}: the library is older or newer than this "
                              "package") from None
        f.restype = _STRUCTS.get(_CNAME.get(res), res)
        f.argtypes = [_retarget(a, by_old) for a in args]
    _check_defaults(lib, path)
    return lib, path


lib, library_path = _load()

# Handles alive (networks, backends, trainers), so that tests can check that none leaks.
_live = {"net": 0, "backend": 0, "trainer": 0}


def live_handles():
    """How many C handles (networks, backends, trainers) this process holds now."""
    return dict(_live)


def call(fname, *args):
    """Calls lib.fname(*args, &err) and raises the exception of a non-OK status with err's message."""
    err = Error()
    status = getattr(lib, fname)(*args, C.byref(err))
    if status != 0:
        raise errors.from_status(status, err.message.decode("utf-8", "replace"))


def fptr(a):
    """A float * to a C-contiguous float32 NumPy array (or NULL for None)."""
    if a is None:
        return None
    return a.ctypes.data_as(c_float_p)


class Handle:
    """A C handle's owner: close() frees it; closed at garbage collection and by `with`."""

    def close(self):
        raise NotImplementedError

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
