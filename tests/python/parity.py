"""What the Rockpool parity tests (JAX, Torch, NumPy modules) share: the error measure they quote and
the check of ratenn's loss and gradients against a framework's."""
import numpy as np


def rel(a, ref):
    """max |a − ref| / max |ref|, in double."""
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    return float(np.abs(a - ref).max() / max(np.abs(ref).max(), 1e-30))


def check_loss_and_gradients(label, parts, mine, loss, grad_of, tol=1e-4):
    """ratenn's loss parts and gradients {layer: {leaf: array}} against the framework's loss value and
    grad_of(layer, leaf) (x0, the held state, is not a parameter there); prints the figures."""
    r = abs(parts.total - loss) / abs(loss)
    print(f"{label}: loss rockpool {loss:.8g} ratenn {parts.total:.8g} rel {r:.2e}")
    assert r < tol
    for layer, leaves in mine.items():
        for leaf, a in leaves.items():
            if leaf == "x0":
                continue
            rg = rel(a, grad_of(layer, leaf))
            print(f"  grad {layer}.{leaf}: {rg:.2e}")
            assert rg < tol, f"{layer}.{leaf}"
