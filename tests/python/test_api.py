"""The Python API over the C library: building, parameters, evolve, the trainer, checkpoints."""
import numpy as np
import pytest

import ratenn

SPEC = "linear(1,8) rate(8,tanh,rec,noise=0.2) linear(8,1)"


def small(seed=1):
    return ratenn.Network(dt=1e-3, seed=seed).linear(1, 8).rate(8, noise_std=0.2).linear(8, 1)


def data(B=2, T=60, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, (B, T, 1)).astype(np.float32),
            rng.uniform(-1, 1, (B, T, 1)).astype(np.float32))


def test_builder_spec_and_json_build_the_same_network(no_leaks):
    a = small(seed=4)
    b = ratenn.Network.from_spec(SPEC, dt=1e-3, seed=4)
    c = ratenn.Network.from_json({"layers": [
        {"type": "linear", "in": 1, "out": 8},
        {"type": "rate", "n": 8, "activation": "tanh", "recurrent": True, "noise": 0.2},
        {"type": "linear", "in": 8, "out": 1}]}, dt=1e-3, seed=4)
    pa, pb, pc = (n.parameters(flat=True) for n in (a, b, c))
    assert list(pa) == ["0_linear.weight", "0_linear.bias", "1_rate.w_rec", "1_rate.tau",
                        "1_rate.bias", "1_rate.threshold", "1_rate.x0", "2_linear.weight",
                        "2_linear.bias"]
    for k in pa:
        np.testing.assert_array_equal(pa[k], pb[k])
        np.testing.assert_array_equal(pa[k], pc[k])
    assert a.layers() == [("0_linear", "linear", 8), ("1_rate", "rate", 8), ("2_linear", "linear", 1)]
    assert (a.input_size, a.output_size) == (1, 1)
    # the spec the network describes itself with builds it again
    d = ratenn.Network.from_spec(a.spec(), dt=a.dt, seed=4)
    np.testing.assert_array_equal(d.parameters(flat=True)["1_rate.w_rec"], pa["1_rate.w_rec"])
    for n in (a, b, c, d):
        n.close()


def test_filters_and_options():
    net = (ratenn.Network(dt=1e-3).linear(2, 3, bias=False).rate(3, "relu", recurrent=False, tau=0.05)
           .lowpass(3, 0.02).alpha(3, 0.01).doubleexp(3, 0.05, 0.03))
    p = net.parameters()
    assert "bias" not in p["0_linear"] and "w_rec" not in p["1_rate"]
    np.testing.assert_allclose(p["1_rate"]["tau"], 0.05)
    np.testing.assert_allclose(p["4_doubleexp"]["tau2"], 0.03)
    assert set(p["3_alpha"]) == {"tau", "initial_level"}
    assert net.rate_options(1) == {"n": 3, "recurrent": False, "activation": "relu", "noise_std": 0.0,
                                   "tau": pytest.approx(0.05)}
    assert "doubleexp(3,tau1=0.05,tau2=0.03)" in net.spec()


def test_parameters_round_trip_through_dicts_and_files(tmp_path, no_leaks):
    net = small()
    rng = np.random.default_rng(7)
    new = {k: rng.uniform(0.012, 0.05, v.shape).astype(np.float32)
           for k, v in net.parameters(flat=True).items()}
    net.set_parameters(new)  # flat names
    got = net.parameters()
    for k, v in new.items():
        layer, leaf = k.split(".")
        np.testing.assert_array_equal(got[layer][leaf], v)
    net.save_parameters(tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz") as z:  # the CLI's params.npz layout: one member per name
        assert sorted(z.files) == sorted(new)
        np.testing.assert_array_equal(z["1_rate.tau"], new["1_rate.tau"])
    other = small(seed=99)
    other.load_parameters(tmp_path / "p.npz")
    for k, v in other.parameters(flat=True).items():
        np.testing.assert_array_equal(v, new[k])
    other.set_parameters({"1_rate": {"tau": np.full(8, 0.03)}})  # nested, float64 accepted
    np.testing.assert_array_equal(other.parameters()["1_rate"]["tau"], np.float32(0.03))
    net.close()
    other.close()


def test_set_parameters_checks_everything_before_changing_anything():
    net = small()
    before = net.parameters(flat=True)
    with pytest.raises(ValueError, match=r"1_rate.tau: shape \(7,\)"):
        net.set_parameters({"0_linear.bias": np.zeros(8), "1_rate.tau": np.ones(7)})
    with pytest.raises(KeyError, match="no parameter named '1_rate.gain'"):
        net.set_parameters({"1_rate.gain": np.ones(8)})
    # a value the library refuses after one it accepted: neither is applied
    with pytest.raises(ratenn.InvalidArgument) as e:
        net.set_parameters({"0_linear.bias": np.zeros(8), "1_rate.tau": -np.ones(8)})
    assert "tau" in str(e.value)
    for k, v in net.parameters(flat=True).items():
        np.testing.assert_array_equal(v, before[k])


def test_freeze_and_clip_bounds_hold_during_training():
    net = small()
    net.freeze("1_rate.w_rec")
    net.set_bounds("1_rate.tau", lower=0.018, mode="clip")
    info = {p.name: p for p in net.parameter_info()}
    assert not info["1_rate.w_rec"].trainable and info["1_rate.tau"].bound_mode == "clip"
    assert info["1_rate.tau"].lower == pytest.approx(0.018)
    w0 = net.parameters()["1_rate"]["w_rec"]
    u, y = data()
    with ratenn.Trainer(net, backend="cpu", lr=5e-3) as tr:
        _, g = tr.gradients(u, y)
        assert "w_rec" not in g["1_rate"] and g["1_rate"]["tau"].shape == (8,)
        tr.fit(u, y, 30, progress=False)
    p = net.parameters()["1_rate"]
    np.testing.assert_array_equal(p["w_rec"], w0)
    assert p["tau"].min() >= np.float32(0.018)
    assert np.any(p["tau"] == np.float32(0.018))  # training pushed some τ onto the bound
    with pytest.raises(ValueError, match="neither 'penalty' nor 'clip'"):
        net.set_bounds("1_rate.tau", lower=0.01, mode="soft")


def test_evolve_shapes_and_records_agree():
    net = small()
    u, _ = data(B=3, T=50)
    out, rec = net.evolve(u, record=True)
    assert out.shape == (3, 50, 1)
    assert set(rec) == {"0_linear", "1_rate", "2_linear"} and set(rec["1_rate"]) == {"output", "x", "r"}
    np.testing.assert_array_equal(rec["2_linear"]["output"], out)
    th = net.parameters()["1_rate"]["threshold"]
    np.testing.assert_allclose(rec["1_rate"]["output"], np.tanh(rec["1_rate"]["x"] - th), rtol=1e-6, atol=1e-7)
    out2 = net.evolve(u[1])  # (T, C) in, (T, C) out
    assert out2.shape == (50, 1)
    # a trial alone or in a batch: the same bits (no product's rounding depends on B on the CPU)
    np.testing.assert_array_equal(out2, out[1])
    noisy = net.evolve(u, noise=True, seed=5)
    assert not np.array_equal(noisy, out)
    np.testing.assert_array_equal(noisy, net.evolve(u, noise=True, seed=5))
    with pytest.raises(ValueError, match="input: 2 channels"):
        net.evolve(np.zeros((10, 2)))


def test_gradients_take_no_step_and_step_returns_the_loss_before_it():
    net = small()
    u, y = data()
    with ratenn.Trainer(net, backend="cpu", lr=1e-2) as tr:
        l1, g1 = tr.gradients(u, y)
        l2, g2 = tr.gradients()
        assert l1 == l2 and tr.epochs_done == 0
        np.testing.assert_array_equal(g1["1_rate"]["tau"], g2["1_rate"]["tau"])
        assert l1.total == pytest.approx(l1.mse + 10 * l1.bounds + l1.l2, rel=1e-12)
        s = tr.step()
        assert s == l1 and tr.epochs_done == 1
        l3, _ = tr.gradients()
        assert l3.total != l1.total


def test_fit_history_callback_and_progress_off(capsys):
    net = small()
    u, y = data()
    seen = []
    with ratenn.Trainer(net, backend="cpu", lr=1e-2) as tr:
        h = tr.fit(u, y, 50, callback=lambda e, p: seen.append(p.total) or e == 9, progress=False)
    assert list(h) == ["loss", "mse", "bounds", "l2", "grad_norm"]
    assert len(h["loss"]) == 10 and seen == list(h["loss"])
    assert h["loss"][-1] < h["loss"][0]
    assert capsys.readouterr().err == ""


def test_frozen_noise_repeats_epoch_zeros_draw():
    u, y = data()
    losses = {}
    for mode in ("fresh", "frozen"):
        net = small()
        for p in net.parameter_info():  # nothing moves: only the noise can change the loss
            net.freeze(p.name)
        with ratenn.Trainer(net, backend="cpu", noise=mode, seed=3) as tr:
            losses[mode] = tr.fit(u, y, 4, progress=False)["loss"]
    assert len(set(losses["frozen"])) == 1
    assert len(set(losses["fresh"])) == 4
    assert losses["fresh"][0] == losses["frozen"][0]


def test_checkpoint_round_trip_continues_bit_for_bit(tmp_path, no_leaks):
    u, y = data()
    with small() as net, ratenn.Trainer(net, backend="cpu", lr=1e-3, seed=2) as tr:
        whole = tr.fit(u, y, 8, progress=False)["loss"]
        final = net.parameters(flat=True)
    with small() as net, ratenn.Trainer(net, backend="cpu", lr=1e-3, seed=2) as tr:
        first = tr.fit(u, y, 4, progress=False)["loss"]
        tr.save_checkpoint(tmp_path / "checkpoint.npz")
    with small(seed=50) as net, ratenn.Trainer(net, backend="cpu", lr=1e-3, seed=2) as tr:
        tr.load_checkpoint(tmp_path / "checkpoint.npz")  # before any data: applied when sized
        assert tr.epochs_done == 4
        second = tr.fit(u, y, 4, progress=False)["loss"]
        assert tr.epochs_done == 8
        resumed = net.parameters(flat=True)
    np.testing.assert_array_equal(np.concatenate([first, second]), whole)
    for k in final:
        np.testing.assert_array_equal(resumed[k], final[k])
    with np.load(tmp_path / "checkpoint.npz") as z:
        assert "adam.m/1_rate.tau" in z.files and list(z["epochs_done"]) == [0, 4]


def test_new_data_shape_keeps_the_optimiser_state():
    net = small()
    u, y = data(B=2, T=60)
    with ratenn.Trainer(net, backend="cpu", lr=1e-2) as tr:
        tr.fit(u, y, 3, progress=False)
        tr.step(u[:, :40], y[:, :40])  # re-sized: T 60 -> 40
        assert tr.epochs_done == 4
        tr.step(u[0], y[0])            # (T, C): one trial
        assert tr.epochs_done == 5


def test_parameters_set_between_steps_are_used():
    net = small()
    u, y = data()
    with ratenn.Trainer(net, backend="cpu", lr=1e-2) as tr:
        tr.step(u, y)
        net.set_parameters({"2_linear.weight": np.zeros((8, 1)), "2_linear.bias": np.zeros(1)})
        l, _ = tr.gradients()
        assert l.mse == pytest.approx(float(np.mean(y.astype(np.float64) ** 2)), rel=1e-6)
