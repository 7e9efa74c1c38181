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


def test_the_tutorial_notebook_runs_and_shows_its_figures(root, tmp_path):
    """examples/tutorial.ipynb, executed by a Jupyter kernel (nbclient) with a few epochs: every cell
    runs, the seven figures are shown and the training line printed."""
    pytest.importorskip("matplotlib")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(os.path.join(root, "examples", "tutorial.ipynb"), as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    params[0].source += "\nEPOCHS, HIDDEN, BACKEND, PROGRESS = 20, 12, 'cpu', False"
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 7
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "training on cpu" in text and "after 20 epochs" in text, text
