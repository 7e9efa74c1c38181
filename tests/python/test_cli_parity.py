"""The Python package and the `ratenn` program run the same library: the same seed and flags give the
same bits, and each resumes the other's checkpoint.npz."""
import csv
import subprocess

import numpy as np

import ratenn

FLAGS = ["--task", "chirp", "--hidden", "12", "--seed", "3", "--lr", "1e-3", "--backend", "cpu"]


def run_cli(cli, out, *extra):
    subprocess.run([cli, "train", *FLAGS, "--out", str(out), *extra], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def cli_losses(out):
    with open(out / "loss.csv") as f:
        return np.array([float(r["loss"]) for r in csv.DictReader(f)])


def python_run():
    """The CLI's `train --task chirp` with FLAGS, written with the Python API."""
    u, y = ratenn.chirp()
    net = ratenn.Network.from_spec("linear(1,12) rate(12,tanh,rec,noise=0.1) linear(12,1)", dt=1e-3, seed=3)
    net.set_bounds("1_rate.tau", lower=11 * 1e-3)  # the CLI's --tau-min default, 11·dt
    tr = ratenn.Trainer(net, backend="cpu", lr=1e-3, seed=3)
    return net, tr, u, y


def test_python_equals_the_cli_bit_for_bit(cli, tmp_path):
    run_cli(cli, tmp_path / "cli", "--epochs", "12")
    net, tr, u, y = python_run()
    with net, tr:
        hist = tr.fit(u, y, 12, progress=False)
        mine = net.parameters(flat=True)
    theirs = np.load(tmp_path / "cli" / "params.npz")
    assert sorted(theirs.files) == sorted(mine)
    for k in mine:
        np.testing.assert_array_equal(mine[k], theirs[k], err_msg=k)
    # loss.csv keeps 17 significant digits: the float64 losses read back exactly
    np.testing.assert_array_equal(hist["loss"], cli_losses(tmp_path / "cli")[:12])


def test_python_resumes_the_clis_checkpoint_and_the_cli_resumes_pythons(cli, tmp_path):
    run_cli(cli, tmp_path / "whole", "--epochs", "10")
    whole = np.load(tmp_path / "whole" / "params.npz")
    # CLI 5 epochs -> Python 5 more
    run_cli(cli, tmp_path / "half", "--epochs", "5", "--checkpoint-every", "5")
    net, tr, u, y = python_run()
    with net, tr:
        tr.load_checkpoint(tmp_path / "half" / "checkpoint.npz")
        tail = tr.fit(u, y, 5, progress=False)["loss"]
        mine = net.parameters(flat=True)
    for k in mine:
        np.testing.assert_array_equal(mine[k], whole[k], err_msg=k)
    np.testing.assert_array_equal(tail, cli_losses(tmp_path / "whole")[5:10])
    # Python 5 epochs -> its checkpoint in a CLI run directory -> the CLI resumes for 5 more
    net, tr, u, y = python_run()
    with net, tr:
        tr.fit(u, y, 5, progress=False)
        tr.save_checkpoint(tmp_path / "half" / "checkpoint.npz")
    subprocess.run([cli, "train", "--resume", str(tmp_path / "half"), "--epochs", "10"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    resumed = np.load(tmp_path / "half" / "params.npz")
    for k in whole.files:
        np.testing.assert_array_equal(resumed[k], whole[k], err_msg=k)
