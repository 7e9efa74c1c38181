"""examples/tutorial.py runs (a few epochs) and writes the tutorial's figures."""
import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("extra", [[], ["--no-bias", "--noise", "fresh"]])
def test_tutorial_writes_its_figures(root, tmp_path, extra):
    pytest.importorskip("matplotlib")
    out = tmp_path / "tut"
    r = subprocess.run([sys.executable, os.path.join(root, "examples", "tutorial.py"), "--epochs", "20",
                        "--hidden", "12", "--out", str(out), "--no-progress", "--backend", "cpu", *extra],
                       capture_output=True, text=True, env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    assert "MSE" in r.stdout and "after 20 epochs" in r.stdout
    for name in ("input_target", "output", "loss", "states", "eigenspectrum", "tau_hist", "biases"):
        assert (out / f"{name}.png").stat().st_size > 1000, name
    assert (out / "params.npz").exists()
