"""K GRUs with K weight sets (emovae.gru.stacked_gru, the batched trainer's recurrence) against
PyTorch's own GRU run once per model: outputs and every gradient."""

import importlib.util
import os
import subprocess
import sys

import pytest
import torch

from emovae.gru import gate_kernels, stacked_gru

K, B, T, I, H = 3, 5, 7, 6, 32


def params(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    shapes = [(K, 3 * H, I), (K, 3 * H, H), (K, 3 * H), (K, 3 * H)]
    return [(0.3 * torch.randn(s, generator=g)).requires_grad_() for s in shapes]


def reference(x, w_ih, w_hh, b_ih, b_hh):
    """torch's GRU kernel once per model; x (K, B, T, I) or (K, B, I) fed at every step."""
    outs, lasts = [], []
    for k in range(K):
        xk = x[k] if x.dim() == 4 else x[k].unsqueeze(1).expand(B, T, I)
        h0 = torch.zeros(1, B, H)
        out, h = torch._VF.gru(xk, h0, [w_ih[k], w_hh[k], b_ih[k], b_hh[k]], True, 1, 0.0, True, False, True)
        outs.append(out)
        lasts.append(h[0])
    return torch.stack(outs), torch.stack(lasts)


def stacked(x, w_ih, w_hh, b_ih, b_hh):
    if x.dim() == 3:
        gx = torch.baddbmm(b_ih.unsqueeze(1), x, w_ih.transpose(1, 2))
    else:
        gx = torch.baddbmm(b_ih.unsqueeze(1), x.reshape(K, B * T, I), w_ih.transpose(1, 2)).view(K, B, T, 3 * H)
    return stacked_gru(gx, w_hh, b_hh, T)


def losses(seq, last):
    """Both outputs reach the loss, with different weights per unit and step."""
    weights = torch.linspace(-1, 1, T * H).view(T, H)
    return (seq * weights).sum() + (last**2).sum()


@pytest.mark.parametrize("const", [False, True], ids=["sequence", "constant input"])
@pytest.mark.parametrize("uses", ["both", "seq", "last"])
def test_equals_torch_gru_with_gradients(const, uses):
    """Forward and every gradient, with the loss reading both outputs or only one of them
    (then the other's gradient never reaches the backward pass)."""
    ps = params()
    x = torch.randn(K, B, I) if const else torch.randn(K, B, T, I)
    weights = torch.linspace(-1, 1, T * H).view(T, H)
    pick = {
        "both": lambda seq, last: losses(seq, last),
        "seq": lambda seq, last: (seq * weights).sum(),
        "last": lambda seq, last: (last**2).sum(),
    }[uses]
    (seq, last), (rseq, rlast) = stacked(x, *ps), reference(x, *ps)
    torch.testing.assert_close(seq, rseq, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(last, rlast, atol=1e-6, rtol=1e-5)
    got, want = torch.autograd.grad(pick(seq, last), ps), torch.autograd.grad(pick(rseq, rlast), ps)
    for g, w in zip(got, want):
        assert w.abs().max() > 1e-3  # every gradient is exercised
        torch.testing.assert_close(g, w, atol=2e-5, rtol=1e-4)


def test_models_do_not_mix():
    """Model k's outputs depend on model k's weights alone."""
    ps = params()
    x = torch.randn(K, B, T, I)
    seq, _ = stacked(x, *ps)
    with torch.no_grad():
        ps[1][1].mul_(1.5)
    seq2, _ = stacked(x, *ps)
    assert torch.equal(seq2[0], seq[0]) and torch.equal(seq2[2], seq[2])
    assert not torch.allclose(seq2[1], seq[1])


def test_without_autograd_the_same_outputs_and_no_graph():
    ps = params(1)
    x = torch.randn(K, B, T, I)
    seq, last = stacked(x, *ps)
    with torch.no_grad():
        seq0, last0 = stacked(x, *ps)
    assert seq0.grad_fn is None and seq.grad_fn is not None
    assert torch.equal(seq0, seq) and torch.equal(last0, last)


def test_gate_kernels_on_the_cpu_are_torch_ops():
    assert gate_kernels(torch.device("cpu")) == "torch"


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")
def test_triton_kernels_interpreted_equal_torch_ops():
    """The Triton kernels run by Triton's interpreter on the CPU give the PyTorch ops' results."""
    code = (
        "import torch, tests.test_stacked_gru as t\n"
        "from emovae.gru import _stacked\n"
        "assert _stacked._passes(torch.device('cpu'))[0].__module__ == 'emovae.gru._triton'\n"
        "for const in (False, True):\n"
        "    ps = t.params(2); x = torch.randn(t.K, t.B, t.I) if const else torch.randn(t.K, t.B, t.T, t.I)\n"
        "    seq, last = t.stacked(x, *ps); g = torch.autograd.grad(t.losses(seq, last), ps)\n"
        "    rs, rl = t.reference(x, *ps); rg = torch.autograd.grad(t.losses(rs, rl), ps)\n"
        "    torch.testing.assert_close(seq, rs, atol=1e-6, rtol=1e-5)\n"
        "    for a, b in zip(g, rg): torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_triton_and_torch_ops_agree(monkeypatch):
    ps = [p.detach().cuda().requires_grad_() for p in params(3)]
    x = torch.randn(K, B, T, I, device="cuda")
    results = []
    for flag in ("1", "0"):
        monkeypatch.setenv("EMOVAE_TRITON", flag)
        seq, last = stacked(x, *ps)
        loss = (seq * torch.linspace(-1, 1, T * H, device="cuda").view(T, H)).sum() + (last**2).sum()
        results.append((seq.detach(), torch.autograd.grad(loss, ps)))
    torch.testing.assert_close(results[0][0], results[1][0], atol=1e-6, rtol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)
