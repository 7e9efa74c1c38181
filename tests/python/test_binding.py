"""The ctypes layer's guard against struct drift: a binding that knows fewer trailing fields than the
library (a field appended in C, say to rn_train_config) pads the struct and keeps working; one whose
fields sit elsewhere than the library's refuses to load."""
import os
import shutil
import subprocess
import sys

import ratenn

PROBE = """
import numpy as np, ratenn
from ratenn import _lib
print(_lib.C.sizeof(_lib.TrainConfig), _lib.lib.rn_struct_size(b"rn_train_config"))
u, y = ratenn.chirp()
with ratenn.Network(seed=1).linear(1, 8).rate(8).linear(8, 1) as net, ratenn.Trainer(net, backend="cpu") as tr:
    print(repr(tr.step(u, y).total))
"""


def run_copy(tmp_path, edit):
    """PROBE against a copy of the installed package whose _lib.py went through edit()."""
    pkg = os.path.dirname(ratenn.__file__)
    dst = tmp_path / "ratenn"
    shutil.copytree(pkg, dst, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    src = (dst / "_lib.py").read_text()
    (dst / "_lib.py").write_text(edit(src))
    env = dict(os.environ, PYTHONPATH=str(tmp_path), RATENN_LIBRARY=ratenn.library_path)
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=tmp_path)


def test_a_struct_that_gained_trailing_fields_is_padded(tmp_path):
    full = run_copy(tmp_path / "a", lambda s: s)
    assert full.returncode == 0, full.stderr
    # as if rn_train_config had gained the field 'graphs' after this binding was written
    fewer = run_copy(tmp_path / "b", lambda s: s.replace(',\n                ("graphs", C.c_bool)]', "]")
                     .replace(" and c.graphs and", " and"))
    assert fewer.returncode == 0, fewer.stderr
    size_py, size_c = map(int, fewer.stdout.split()[:2])
    assert size_py == size_c
    assert fewer.stdout.split()[2] == full.stdout.split()[2]  # the same loss: the defaults kept


def test_fields_in_other_places_refuse_to_load(tmp_path):
    # lr and b1 swapped: the same size, the wrong layout
    r = run_copy(tmp_path, lambda s: s.replace('("lr", C.c_float), ("b1", C.c_float)',
                                               '("b1", C.c_float), ("lr", C.c_float)'))
    assert r.returncode != 0 and "laid out differently" in r.stderr
