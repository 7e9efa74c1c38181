"""Every rn_status failure as a Python exception carrying the C message, and no C handle left behind."""
import gc

import numpy as np
import pytest

import ratenn


def test_the_hierarchy():
    assert issubclass(ratenn.InvalidArgument, ValueError)
    assert issubclass(ratenn.ShapeError, ValueError)
    assert issubclass(ratenn.FormatError, ValueError)
    assert issubclass(ratenn.NotFound, KeyError)
    assert issubclass(ratenn.FileError, OSError)
    assert issubclass(ratenn.OutOfMemory, MemoryError)
    assert issubclass(ratenn.Unsupported, ratenn.DeviceError)
    assert issubclass(ratenn.Diverged, ArithmeticError)
    for cls in (ratenn.InvalidArgument, ratenn.NotFound, ratenn.FileError, ratenn.OutOfMemory,
                ratenn.DeviceError, ratenn.Diverged):
        assert issubclass(cls, ratenn.RatennError)


def test_invalid_arguments_are_value_errors_with_the_c_message(no_leaks):
    with pytest.raises(ValueError, match="dt"):
        ratenn.Network(dt=-1.0)
    with pytest.raises(ValueError, match="linear layer sizes must be in 1..1048576"):
        ratenn.Network().linear(0, 3)
    with pytest.raises(ratenn.ShapeError, match="takes 4 inputs but layer 0 .linear. gives 3"):
        ratenn.Network().linear(1, 3).rate(4)
    with pytest.raises(ValueError) as e:
        ratenn.Network.from_spec("linear(1,4) rate(4,softplus)")
    assert "softplus" in str(e.value)
    net = ratenn.Network().linear(1, 2)
    with pytest.raises(ValueError, match="learning rate"):
        ratenn.Trainer(net, lr=0).step(np.zeros((5, 1)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="finite"):
        with ratenn.Trainer(net, backend="cpu") as tr:
            tr.step(np.full((5, 1), np.nan), np.zeros((5, 2)))
    with pytest.raises(KeyError) as k:
        net.freeze("0_linear.gain")
    assert "0_linear.gain" in str(k.value) and not str(k.value).startswith("'")
    net.close()


def test_out_of_memory_is_a_memory_error(no_leaks):
    # 2^40 weights (4 TiB): refused before any page is touched
    with pytest.raises(MemoryError) as e:
        ratenn.Network().linear(1 << 20, 1 << 20)
    assert "GiB" in str(e.value) or "bytes" in str(e.value) or "memory" in str(e.value)


def test_files_are_os_errors_and_bad_files_format_errors(tmp_path, no_leaks):
    net = ratenn.Network().linear(1, 2)
    with pytest.raises(OSError) as e:
        net.load_parameters(tmp_path / "missing.npz")
    assert "missing.npz" in str(e.value)
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ratenn.FormatError, match="junk.npz"):
        net.load_parameters(tmp_path / "junk.npz")
    with pytest.raises(OSError):
        net.save_parameters(tmp_path / "no-such-dir" / "p.npz")
    np.savez(tmp_path / "short.npz", **{"0_linear.weight": np.zeros((1, 2), np.float32),
                                        "epochs_done": np.zeros(2, np.float32)})
    with ratenn.Trainer(net) as tr, pytest.raises(ratenn.FormatError, match="lacks .0_linear.weight. .or its Adam moments"):
        tr.load_checkpoint(tmp_path / "short.npz")
    net.close()


def test_device_errors(no_leaks):
    net = ratenn.Network().linear(1, 2)
    if ratenn.cuda_device_count() > 0:
        pytest.skip("a usable GPU: the CUDA backend does not fail here")
    expected = ratenn.DeviceError if ratenn.cuda_built() else ratenn.Unsupported
    with pytest.raises(expected) as e:
        ratenn.Trainer(net, backend="cuda")
    assert "cuda" in str(e.value).lower() or "CUDA" in str(e.value)
    net.close()


def test_divergence_raises_keeps_parameters_and_the_history(no_leaks):
    net = ratenn.Network(seed=1).linear(1, 4).rate(4, "linear").linear(4, 1)
    u = np.full((20, 1), 1e30, np.float32)  # finite data whose squared error is not
    before = net.parameters(flat=True)
    with ratenn.Trainer(net, backend="cpu") as tr:
        with pytest.raises(ratenn.Diverged) as e:
            tr.fit(u, np.zeros((20, 1)), 5, progress=False)
        assert e.value.history["loss"].size == 0
        assert "non-finite" in str(e.value) or "diverge" in str(e.value)
        assert tr.epochs_done == 0
    for k, v in net.parameters(flat=True).items():
        np.testing.assert_array_equal(v, before[k])
    net.close()


def test_failed_constructors_leave_no_handles():
    gc.collect()
    base = ratenn.live_handles()
    for _ in range(3):
        with pytest.raises(ValueError):
            ratenn.Network.from_spec("linear(1,4) rate(3)")
        net = ratenn.Network().linear(1, 2)
        with pytest.raises(ValueError):
            ratenn.Trainer(net, backend="tpu")
        with pytest.raises(ValueError):  # the backend exists, the C trainer fails: both freed
            with ratenn.Trainer(net, backend="cpu", lr=-1) as tr:
                tr.step(np.zeros((4, 1)), np.zeros((4, 2)))
        tr = ratenn.Trainer(net, backend="cpu")
        tr.step(np.zeros((4, 1)), np.zeros((4, 2)))
        assert ratenn.live_handles()["trainer"] == base["trainer"] + 1
        del tr, net  # dropped without close(): the finalisers free them
        gc.collect()
    assert ratenn.live_handles() == base


def test_a_closed_network_or_trainer_says_so():
    net = ratenn.Network().linear(1, 2)
    tr = ratenn.Trainer(net, backend="cpu")
    net.close()  # closes its trainer too
    with pytest.raises(ValueError, match="closed"):
        net.parameters()
    with pytest.raises(ValueError, match="closed"):
        tr.backend
    net2 = ratenn.Network().linear(1, 2)
    with ratenn.Trainer(net2, backend="cpu") as tr2:
        tr2.step(np.zeros((4, 1)), np.zeros((4, 2)))
        with pytest.raises(ValueError, match="cannot add a layer"):
            net2.linear(2, 2)
    net2.linear(2, 2)  # the trainer is closed: allowed again
