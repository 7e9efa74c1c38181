"""The exceptions every failed C call raises, one per rn_status (include/ratenn/status.h), each
carrying the library's message. All derive from RatennError and from the built-in exception a Python
user would catch for that kind of failure."""


class RatennError(Exception):
    """A failed ratenn call. `status` is the C status name, `message` the library's message."""

    status = "error"

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):  # KeyError would otherwise quote the message
        return self.message


class InvalidArgument(RatennError, ValueError):
    """A bad argument value (τ <= 0, an unknown option, a non-finite value, ...)."""
    status = "invalid argument"


class ShapeError(InvalidArgument):
    """Sizes that do not fit together."""
    status = "shape"


class NotFound(RatennError, KeyError):
    """An unknown parameter or layer name."""
    status = "not found"


class FileError(RatennError, OSError):
    """A file could not be opened, read or written."""
    status = "I/O"


class FormatError(RatennError, ValueError):
    """A file's contents are malformed."""
    status = "format"


class OutOfMemory(RatennError, MemoryError):
    """Host or device memory is short."""
    status = "no memory"


class DeviceError(RatennError, RuntimeError):
    """CUDA, cuBLAS or cuRAND failed, or no usable device."""
    status = "device"


class Diverged(RatennError, ArithmeticError):
    """A non-finite loss or gradient: the epoch was not applied, the parameters are the last good ones.
    Trainer.fit attaches the loss history up to the failure as `history`."""
    status = "diverged"
    history = None


class Unsupported(DeviceError):
    """Asked of a build without it (e.g. the CUDA backend in a build without CUDA)."""
    status = "unsupported"


_BY_STATUS = {1: InvalidArgument, 2: ShapeError, 3: NotFound, 4: FileError, 5: FormatError,
              6: OutOfMemory, 7: DeviceError, 8: Diverged, 9: Unsupported}


def from_status(status, message):
    cls = _BY_STATUS.get(status, RatennError)
    return cls(message or cls.status)
