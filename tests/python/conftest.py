"""pytest setup for the Python package's tests.

The package under test is the installed one (`pip install .`, as .ci/python does in a fresh venv).
Run from a source tree without installing, it falls back to src/python with the build tree's
libratenn.so (cmake -DRATENN_SHARED=ON); RATENN_BUILD_DIR names that build tree (default: build).
The CLI comparisons run <build>/ratenn (RATENN_CLI overrides) and skip without it unless
RATENN_REQUIRE_CLI=1, as in CI."""
import gc
import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("RATENN_BUILD_DIR", os.path.join(ROOT, "build")))

try:
    import ratenn  # noqa: F401  (installed)
except ImportError:
    lib = os.path.join(BUILD, "libratenn.so")
    if not os.path.exists(lib):
        raise
    os.environ.setdefault("RATENN_LIBRARY", lib)
    sys.path.insert(0, os.path.join(ROOT, "src", "python"))
    # and for the subprocesses some tests start (examples/tutorial.py)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.join(ROOT, "src", "python"),
                                                             os.environ.get("PYTHONPATH")]))
    import ratenn  # noqa: F401


@pytest.fixture
def cli():
    """The path of the `ratenn` program built beside the library."""
    exe = os.environ.get("RATENN_CLI", os.path.join(BUILD, "ratenn"))
    if not os.access(exe, os.X_OK):
        if os.environ.get("RATENN_REQUIRE_CLI") == "1":
            pytest.fail(f"RATENN_REQUIRE_CLI=1 but {exe} is not there")
        pytest.skip(f"no CLI at {exe} (build the project first)")
    return exe


@pytest.fixture
def no_leaks():
    """Fails the test if it leaves C handles (networks, backends, trainers) alive."""
    gc.collect()
    before = ratenn.live_handles()
    yield
    gc.collect()
    assert ratenn.live_handles() == before


@pytest.fixture
def root():
    return ROOT
