"""ratenn from Python: rate-based recurrent networks trained by BPTT (time constants included) on the
CPU or an NVIDIA GPU, through a thin ctypes binding to the C library libratenn.

    import ratenn
    u, y = ratenn.chirp()
    net = ratenn.Network(dt=1e-3, seed=0).linear(1, 50).rate(50, noise_std=0.1).linear(50, 1)
    net.set_bounds("1_rate.tau", lower=11e-3)
    with ratenn.Trainer(net, lr=1e-4) as tr:
        history = tr.fit(u, y, epochs=6000)
    out = net.evolve(u)
"""
from . import errors
from ._lib import library_path, lib as _clib, live_handles
from .errors import (DeviceError, Diverged, FileError, FormatError, InvalidArgument, NotFound,
                     OutOfMemory, RatennError, ShapeError, Unsupported)
from .network import ACTIVATIONS, Network, ParamInfo
from .rockpool import from_rockpool, to_rockpool_parameters
from .tasks import chirp, synapse
from .trainer import LossParts, Trainer

__version__ = _clib.rn_version().decode()


def cuda_built():
    """Whether the library was built with the CUDA backend."""
    return bool(_clib.rn_cuda_built())


def cuda_device_count():
    """How many CUDA devices the library can use (0 without CUDA or without a GPU)."""
    return int(_clib.rn_cuda_device_count())


__all__ = ["Network", "Trainer", "LossParts", "ParamInfo", "ACTIVATIONS", "from_rockpool",
           "to_rockpool_parameters", "chirp", "synapse", "cuda_built", "cuda_device_count",
           "live_handles", "library_path", "errors", "RatennError", "InvalidArgument", "ShapeError",
           "NotFound", "FileError", "FormatError", "OutOfMemory", "DeviceError", "Diverged",
           "Unsupported"]
