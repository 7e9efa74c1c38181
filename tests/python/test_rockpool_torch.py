"""Parity with real Rockpool 3.1's Torch modules (LinearTorch, RateTorch, ExpSynTorch) under torch 2.5.1
(from PyPI; .ci/python installs them): a network made by from_rockpool gives Rockpool's output, the
tutorial's loss and its gradients equal torch autograd's, and to_rockpool_parameters goes back into
the Torch modules. Skipped where torch or rockpool is not installed (RATENN_REQUIRE_ROCKPOOL=1 fails
instead, as in CI). conftest.py imports ratenn before this file imports torch: see
test_ratenn_imports_after_torch for the other order."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import ratenn
from parity import check_loss_and_gradients, rel

if os.environ.get("RATENN_REQUIRE_ROCKPOOL") == "1":
    import rockpool  # noqa: F401
    import torch  # noqa: F401
torch = pytest.importorskip("torch")
pytest.importorskip("rockpool")
from rockpool.nn.combinators import Sequential  # noqa: E402
from rockpool.nn.modules import ExpSynTorch, LinearTorch, RateTorch  # noqa: E402
from rockpool.training.torch_loss import bounds_cost, make_bounds  # noqa: E402

DT = 1e-3

# RateTorch takes any callable act_fn(x, threshold); its default is a relu lambda. ratenn's activations
# as a Torch user writes them (sigmoid is Rockpool's (tanh+1)/2, as H_sigmoid and SPEC).
ACTS = {
    "relu": None,
    "tanh": lambda x, t: torch.tanh(x - t),
    "sigmoid": lambda x, t: (torch.tanh(x - t) + 1) / 2,
    "lrelu": lambda x, t: torch.nn.functional.leaky_relu(x - t, 0.01),
    "linear": lambda x, t: x - t,
}


@pytest.fixture(autouse=True)
def seeded():
    """The modules' default initial values the same on every run (LinearTorch's from torch's
    generator, RateTorch's w_rec from NumPy's)."""
    torch.manual_seed(0)
    np.random.seed(0)


def npy(t):
    return t.detach().cpu().numpy()

def expect_rockpools_output(label, out, rp, u, tol=1e-5):
    """ratenn's output `out` for input u against the Torch module's (no gradients), printed."""
    with torch.no_grad():
        ref, _, _ = rp(torch.from_numpy(u))
    r = rel(out, npy(ref))
    print(f"{label}: max|diff|/max|ref| = {r:.2e}")
    assert r < tol



def rockpool_net(N, act, bias, seed):
    """The tutorial's Sequential in Rockpool's Torch modules, with varied values so that every term
    is exercised (w_rec scaled so that the unbounded activations stay bounded over the run)."""
    rng = np.random.default_rng(seed)
    T = torch.from_numpy
    kw = {} if ACTS[act] is None else {"activation_func": ACTS[act]}
    lin0 = dict(weight=T(rng.uniform(-1, 1, (1, N)).astype(np.float32)))
    lin2 = dict(weight=T(rng.uniform(-1, 1, (N, 1)).astype(np.float32)))
    if bias:
        lin0["bias"] = T(rng.uniform(-0.3, 0.3, N).astype(np.float32))
        lin2["bias"] = T(rng.uniform(-0.3, 0.3, 1).astype(np.float32))
    return Sequential(
        LinearTorch((1, N), has_bias=bias, **lin0),
        RateTorch(N, has_rec=True, dt=DT, noise_std=0.0,
                  w_rec=T((0.8 * rng.normal(size=(N, N)) / np.sqrt(N)).astype(np.float32)),
                  tau=T(rng.uniform(0.009, 0.05, N).astype(np.float32)),
                  bias=T(rng.uniform(-0.3, 0.3, N).astype(np.float32)),
                  threshold=T(rng.uniform(-0.2, 0.2, N).astype(np.float32)), **kw),
        LinearTorch((N, 1), has_bias=bias, **lin2))


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("bias", [True, False])
def test_from_rockpool_gives_rockpool_torchs_output(act, bias):
    rp = rockpool_net(20, act, bias, seed=1)
    u = np.random.default_rng(2).uniform(-1, 1, (3, 400, 1)).astype(np.float32)
    with ratenn.from_rockpool(rp) as net:  # before rp runs: its modules keep the state of a call
        assert net.dt == pytest.approx(DT)
        assert net.rate_options(1)["activation"] == act
        assert ("bias" in net.parameters()["0_linear"]) == bias
        out = net.evolve(u)
    expect_rockpools_output(f"torch output {act} bias={bias}", out, rp, u)


@pytest.mark.parametrize("kw", [{}, {"tau": 0.03, "bias": 0.1, "threshold": -0.05}],
                         ids=["defaults", "scalars"])
def test_a_feedforward_rate_torch_with_its_defaults_or_scalars(kw):
    """RateTorch's defaults: no w_rec, relu, τ 20 ms; or τ, bias and threshold given as scalars
    (shape ()), which ratenn holds per neuron."""
    N = 6
    rp = Sequential(LinearTorch((2, N)), RateTorch(N, **kw), LinearTorch((N, 1)))
    u = np.random.default_rng(12).uniform(-1, 1, (2, 300, 2)).astype(np.float32)
    with ratenn.from_rockpool(rp) as net:
        o = net.rate_options(1)
        assert (o["recurrent"], o["activation"]) == (False, "relu")
        p = net.parameters()["1_rate"]
        assert "w_rec" not in p
        np.testing.assert_allclose(p["tau"], np.full(N, kw.get("tau", 0.02), np.float32))
        np.testing.assert_allclose(p["bias"], np.full(N, kw.get("bias", 0.0), np.float32))
        out = net.evolve(u)
    expect_rockpools_output(f"torch feed-forward rate, {kw or 'defaults'}", out, rp, u)


@pytest.mark.parametrize("bias", [True, False])
def test_the_tutorial_loss_and_gradients_equal_torch_autograd(bias):
    """The tutorial's task and loss in Rockpool's Torch modules: MSE + 10·bounds_cost (τ >= 11·dt) +
    mean(w_rec²), its gradients by loss.backward()."""
    N = 50
    rp = rockpool_net(N, "tanh", bias, seed=3)
    u, y = ratenn.chirp()
    with ratenn.from_rockpool(rp) as net:
        net.set_bounds("1_rate.tau", lower=11 * DT)
        with ratenn.Trainer(net, backend="cpu", w_mse=1, w_bounds=10, w_l2=1) as tr:
            parts, mine = tr.gradients(u, y)
    params = rp.parameters()
    assert np.any(npy(params["1_RateTorch"]["tau"]) < 11 * DT)  # the bounds term is exercised
    lo, hi = make_bounds(params)
    lo["1_RateTorch"]["tau"] = 11 * DT
    out, _, _ = rp(torch.from_numpy(u))
    loss = (torch.mean((out[0] - torch.from_numpy(y)) ** 2) + 10.0 * bounds_cost(params, lo, hi)
            + torch.mean(params["1_RateTorch"]["w_rec"] ** 2))
    loss.backward()
    names = {"0_linear": "0_LinearTorch", "1_rate": "1_RateTorch", "2_linear": "2_LinearTorch"}
    check_loss_and_gradients(f"torch bias={bias}", parts, mine, float(loss),
                             lambda layer, leaf: npy(params[names[layer]][leaf].grad))
    assert set(mine["0_linear"]) == ({"weight", "bias"} if bias else {"weight"})


@pytest.mark.parametrize("bias", [True, False])
def test_to_rockpool_parameters_go_back_into_the_torch_modules(bias):
    rp = rockpool_net(10, "tanh", bias, seed=4)
    u = np.random.default_rng(5).uniform(-1, 1, (1, 300, 1)).astype(np.float32)
    with ratenn.from_rockpool(rp) as net:
        with ratenn.Trainer(net, backend="cpu", lr=1e-3) as tr:
            tr.fit(u, np.sin(u), 5, progress=False)  # values Rockpool has not seen
        p = ratenn.to_rockpool_parameters(net, rp)
        assert set(p) == {"0_LinearTorch", "1_RateTorch", "2_LinearTorch"}
        assert set(p["0_LinearTorch"]) == ({"weight", "bias"} if bias else {"weight"})
        assert set(p["1_RateTorch"]) == {"w_rec", "tau", "bias", "threshold"}
        assert all(isinstance(a, torch.Tensor) and a.dtype == torch.float32
                   for d in p.values() for a in d.values())
        rp.set_attributes(p)
        got = rp.parameters()
        for mod, d in p.items():
            for leaf, a in d.items():
                np.testing.assert_array_equal(npy(got[mod][leaf]), npy(a))
                assert got[mod][leaf].requires_grad  # still trainable by torch
        expect_rockpools_output(f"torch round trip bias={bias}", net.evolve(u), rp, u)


def test_expsyn_torch_maps_to_lowpass_with_its_gain_folded():
    tau = np.array([0.01, 0.03, 0.1], np.float32)
    rp = Sequential(LinearTorch((2, 3), has_bias=True), ExpSynTorch(3, tau=torch.from_numpy(tau), dt=DT))
    u = np.random.default_rng(6).uniform(-1, 1, (2, 500, 2)).astype(np.float32)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        net = ratenn.from_rockpool(rp)
    assert any("folded" in str(x.message) for x in w)
    with net:
        assert [k for _, k, _ in net.layers()] == ["linear", "lowpass"]
        np.testing.assert_array_equal(net.parameters()["1_lowpass"]["tau"], tau)
        expect_rockpools_output("torch ExpSyn -> lowpass", net.evolve(u), rp, u)


def test_the_state_a_torch_module_holds_maps_as_the_initial_state():
    """RateTorch and ExpSynTorch keep their state after a call (trial 0's): from_rockpool takes it
    as x0 and initial_level, so that both continue from where Rockpool stopped."""
    N = 8
    rng = np.random.default_rng(7)
    rp = Sequential(LinearTorch((1, N)), RateTorch(N, has_rec=True, activation_func=ACTS["tanh"], dt=DT),
                    LinearTorch((N, 2)), ExpSynTorch(2, tau=torch.tensor([0.02, 0.05]), dt=DT))
    u1, u2 = rng.uniform(-1, 1, (2, 1, 200, 1)).astype(np.float32)
    with torch.no_grad():
        rp(torch.from_numpy(u1))  # leaves x and isyn non-zero
        x, isyn = npy(rp.modules()["1_RateTorch"].x), npy(rp.modules()["3_ExpSynTorch"].isyn)
        assert np.all(x != 0) and np.all(isyn != 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the folded gain's
            net = ratenn.from_rockpool(rp)
        ref, _, _ = rp(torch.from_numpy(u2))
    with net:
        np.testing.assert_array_equal(net.parameters()["1_rate"]["x0"], x)
        r = rel(net.evolve(u2), npy(ref))
        print(f"torch continued from Rockpool's state: {r:.2e}")
        assert r < 1e-5


def test_a_lone_expsyn_torch_gives_rockpools_output_over_its_gain():
    """With no linear layer before it to take Rockpool's gain β/(1-β), the lowpass gives Rockpool's
    output divided by it (a warning says so), its held state included."""
    tau = np.array([0.01, 0.03], np.float32)
    rp = ExpSynTorch(2, tau=torch.from_numpy(tau), dt=DT)
    u1, u2 = np.random.default_rng(9).uniform(-1, 1, (2, 1, 300, 2)).astype(np.float32)
    with torch.no_grad():
        rp(torch.from_numpy(u1))
        with pytest.warns(UserWarning, match="no linear layer precedes it"):
            net = ratenn.from_rockpool(rp)
        ref, _, _ = rp(torch.from_numpy(u2))
    beta = np.exp(-DT / tau.astype(np.float64))
    with net:
        r = rel(net.evolve(u2) * (beta / (1 - beta)), npy(ref))
        print(f"torch lone ExpSyn, times its gain: {r:.2e}")
        assert r < 1e-5


def test_what_cannot_be_mapped_is_named():
    from rockpool.nn.modules import LIFTorch
    with pytest.raises(ValueError, match=r"module 1_LIFTorch \(LIFTorch\): no ratenn equivalent"):
        ratenn.from_rockpool(Sequential(LinearTorch((1, 3)), LIFTorch(3)))
    refused = {
        "the logistic function, not (tanh+1)/2": lambda x, t: torch.sigmoid(x - t),
        "no threshold": lambda x, t: torch.tanh(x),
        "a scaled tanh": lambda x, t: 2 * torch.tanh(x - t),
    }
    for f in refused.values():
        with pytest.raises(ValueError, match=r"1_RateTorch \(RateTorch\): activation <lambda> has no "
                                             r"ratenn equivalent"):
            ratenn.from_rockpool(Sequential(LinearTorch((1, 3)), RateTorch(3, activation_func=f)))

    def broken(x, t):
        raise RuntimeError("nope")
    with pytest.raises(ValueError, match=r"activation broken could not be evaluated \(nope\)"):
        ratenn.from_rockpool(Sequential(LinearTorch((1, 3)), RateTorch(3, activation_func=broken)))


def test_a_refused_mapping_frees_what_it_built(no_leaks):
    with pytest.raises(ValueError, match="activation"):
        ratenn.from_rockpool(Sequential(LinearTorch((1, 3)), RateTorch(3, activation_func=lambda x, t: x),
                                        LinearTorch((3, 1))))


@pytest.mark.parametrize("first", ["import torch", "from rockpool.nn.modules import LinearJax"])
def test_ratenn_imports_after_torch(first, root):
    """A notebook may import torch first, or Rockpool, which imports torch where it is installed.
    torch's wheels bundle an older libgomp under the soname libgomp.so.1, without OpenMP 5.0's
    omp_pause_resource_all: the CPU backend looks it up at run time (src/cpu/rate_seq.c) rather
    than linking it, so ratenn loads and runs after torch too."""
    code = f"import sys; {first}; assert 'torch' in sys.modules; import ratenn; " \
           "ratenn.Network().linear(1, 1).close(); print('ok')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
