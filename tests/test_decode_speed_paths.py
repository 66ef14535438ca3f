"""The inference paths of emovae.gru: the forward without stored gates (bit-identical to the
autograd forward) and the fused C++ decoder (fp32 within 1e-5 of the layer + linear head; int16
equal to an exact re-computation of its fixed-point arithmetic and to fp32's argmax)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from emovae.errors import EmovaeError
from emovae.gru import GRU, _decode, decode_caps, fused_decode, fused_decoding, keras_init_
from emovae.gru._function import _GRUFunction, _run_forward

CAPS = decode_caps()
needs_fused = pytest.mark.skipif(not CAPS["fp32"], reason="fused decoder needs an AVX-512 build of the extension")
needs_int16 = pytest.mark.skipif(not CAPS["int16"], reason="int16 decoding needs AVX512-VNNI")


def _decoder(I=6, H=32, V=11, seed=0, precision="fp32"):
    """A small decoder (GRU with Keras's initialisers, linear head, non-zero biases)."""
    gen = torch.Generator().manual_seed(seed)
    g = GRU(I, H, precision=precision)
    keras_init_(g, generator=gen)
    out = torch.nn.Linear(H, V)
    with torch.no_grad():
        g.bias_ih.copy_(0.1 * torch.randn(3 * H, generator=gen))
        g.bias_hh.copy_(0.1 * torch.randn(3 * H, generator=gen))
        out.weight.copy_(torch.randn(V, H, generator=gen) / H**0.5)
        out.bias.copy_(0.1 * torch.randn(V, generator=gen))
    return g, out


def _inputs(B, I=6, seed=1):
    return torch.randn(B, I, generator=torch.Generator().manual_seed(seed))


def _layer_logits(g, out, x, T):
    """The reference: the layer's autograd forward (training path), then the linear head."""
    with torch.enable_grad():
        seq, _ = _GRUFunction.apply(x, None, g.weight_ih, g.weight_hh, g.bias_ih, g.bias_hh, T, False, True)
        return out(seq).detach()


def _close(a, b, tol, what=""):
    err = (a.double() - b.double()).abs().max().item()
    scale = max(1.0, b.double().abs().max().item())
    assert err <= tol * scale, f"{what}: max error {err:.3g} > {tol:.1g} x {scale:.3g}"


# -- the forward without stored gates ---------------------------------------------------------------
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("const", [False, True], ids=["sequence", "constant"])
def test_inference_forward_is_bit_identical(precision, const):
    torch.manual_seed(3)
    g = GRU(5, 48, precision=precision)
    x = torch.randn(40, 5) if const else torch.randn(40, 9, 5)
    h0 = 0.3 * torch.randn(40, 48)
    steps = 9 if const else None
    for h in (None, h0):
        out_ref, hT_ref = g(x, h, steps=steps)  # autograd records: the training forward
        assert out_ref.requires_grad
        with torch.no_grad():
            out, hT = g(x, h, steps=steps)
        assert not out.requires_grad
        assert torch.equal(out, out_ref.detach()) and torch.equal(hT, hT_ref.detach())


def test_inference_forward_keeps_no_gates():
    torch.manual_seed(4)
    g = GRU(6, 64)
    x = torch.randn(32, 6)
    ps = (g.weight_ih, g.weight_hh, g.bias_ih, g.bias_hh)
    with torch.no_grad():
        hs1, g1, _ = _run_forward(x, None, *ps, 12, False, True, True)
        hs1 = hs1.clone()
        hs2, g2, _ = _run_forward(x, None, *ps, 12, False, True, False)
    assert g1.shape == (12, 32, 4 * 64)
    from emovae.gru._extension import _ext_ops

    if _ext_ops() is not None:
        assert g2.numel() == 0
    assert torch.equal(hs1, hs2)


def test_int16_precision_refuses_autograd():
    g = GRU(4, 16, precision="int16")
    x = torch.randn(3, 4)
    with pytest.raises(EmovaeError, match="inference only"):
        g(x, steps=5)
    with torch.no_grad():
        out, _ = g(x, steps=5)  # outside the fused decoder: fp32
    ref = GRU(4, 16)
    ref.load_state_dict(g.state_dict())
    with torch.no_grad():
        assert torch.equal(out, ref(x, steps=5)[0])


# -- the fused decoder --------------------------------------------------------------------------------
@needs_fused
@pytest.mark.parametrize("B,H,V", [(1, 16, 5), (7, 32, 11), (70, 32, 31), (19, 48, 40)])
def test_fused_fp32_matches_training_forward(B, H, V):
    g, out = _decoder(H=H, V=V, seed=B)
    x = _inputs(B, seed=B)
    ref = _layer_logits(g, out, x, 64)
    with torch.no_grad():
        got = fused_decode(g, x, 64, out, force=True)
    assert got.shape == (B, 64, V)
    _close(got, ref, 1e-5, "fused fp32 logits")


@needs_fused
def test_fused_rows_do_not_depend_on_the_batch(monkeypatch):
    """Each row's logits are the same alone, in a batch, and split over threads and blocks."""
    g, out = _decoder(H=32, V=31)
    x = _inputs(150)
    monkeypatch.setattr(_decode, "BLOCK", 24)
    with torch.no_grad():
        full = fused_decode(g, x, 20, out, force=True)
        alone = torch.cat([fused_decode(g, x[i : i + 1], 20, out, force=True) for i in (0, 77, 149)])
    assert torch.equal(alone, full[[0, 77, 149]])


def _emulate_int16(g, out, x, T):
    """The int16 path's arithmetic in float64 (exact for the integer sums), gates as in fp32."""
    H = g.hidden_size
    wq, inv = _decode.int16_weights(g.weight_hh.detach(), _decode.INT16_CHUNK, _decode.QSCALE)
    gi = F.linear(x, g.weight_ih, g.bias_ih)
    W, b = g.weight_hh.detach(), g.bias_hh.detach()
    h = torch.zeros(x.shape[0], H)
    logits = []
    for t in range(T):
        if t >= _decode.INT16_FROM:
            hq = torch.round(h.double() * _decode.QSCALE)
            gh = ((hq @ wq.double().t()) * inv.double()).float() + b
        else:
            gh = h @ W.t() + b
        r = torch.sigmoid(gi[:, :H] + gh[:, :H])
        z = torch.sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
        n = torch.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
        h = n + z * (h - n)
        logits.append(out(h))
    return torch.stack(logits, 1)


@needs_int16
def test_fused_int16_is_its_documented_arithmetic_and_keeps_the_argmax():
    g, out = _decoder(H=64, V=31, seed=5, precision="int16")
    x = 2 * _inputs(200, seed=6)
    with torch.no_grad():
        got = fused_decode(g, x, 64, out, force=True)
        emulated = _emulate_int16(g, out, x, 64)
        g.precision = "fp32"
        fp32 = fused_decode(g, x, 64, out, force=True)
    _close(got, emulated, 1e-5, "int16 logits vs their exact re-computation")
    assert (got - fp32).abs().max() > 0  # the int16 products did run
    _close(got, fp32, 2e-3, "int16 logits vs fp32")
    assert torch.equal(got.argmax(-1), fp32.argmax(-1))


def test_int16_weights_keep_every_partial_sum_in_int32():
    torch.manual_seed(7)
    w = torch.randn(96, 64)
    w[5] = 0.0  # a zero row
    w[7, :16] = 40.0  # a row with one heavy chunk
    for chunk, qscale in ((16, 32767.0), (64, 16383.0)):
        wq, inv = _decode.int16_weights(w, chunk, qscale)
        assert wq.dtype == torch.int16 and inv.shape == (96,)
        worst = wq.long().abs().view(96, -1, chunk).sum(2).amax(1) * int(qscale)
        assert int(worst.max()) <= 2**31 - 1
        s = 1.0 / (qscale * inv.double())
        rows = torch.arange(96) != 5
        # the dequantised weights are W to within half a step
        err = (wq.double()[rows] / s[rows, None] - w.double()[rows]).abs().max(1).values
        assert bool((err <= 0.5 / s[rows] * 1.0001).all())
        # the scale is the largest that int16 or the int32 bound allows (within the search's 0.1 % steps)
        assert bool(((wq.long().abs().amax(1)[rows] >= 32767 * 0.99) | (worst[rows] >= (2**31 - 1) * 0.98)).all())
    with pytest.raises(EmovaeError, match="chunk"):
        _decode.int16_weights(torch.randn(6, 24), 16, 32767.0)


@needs_fused
def test_fused_decode_only_where_it_applies():
    g, out = _decoder()
    x = _inputs(64)
    with torch.no_grad():
        assert fused_decode(g, x, 8, out) is None  # not switched on
        with fused_decoding():
            assert fused_decode(g, x, 8, out) is not None
            assert fused_decode(g, x[:5], 8, out) is None  # below SMALL_BATCH: PyTorch's fused GRU
            assert fused_decode(g, x.double(), 8, out) is None
            g.impl = "native"
            assert fused_decode(g, x, 8, out) is None
            g.impl = "auto"
            g.precision = "bf16"
            assert fused_decode(g, x, 8, out) is None  # bf16: the layer's own pass
            g.precision = "fp32"
            g2, out2 = _decoder(H=24)  # hidden size not a multiple of 16
            assert fused_decode(g2, x, 8, out2) is None
        with fused_decoding(False):
            assert fused_decode(g, x, 8, out) is None
    with fused_decoding():  # autograd would record: never fused
        assert fused_decode(g, x, 8, out) is None


@needs_fused
def test_fused_cache_follows_weight_updates():
    g, out = _decoder()
    x = _inputs(40)
    with torch.no_grad():
        a = fused_decode(g, x, 10, out, force=True)
        g.weight_hh.mul_(0.5)
        out.bias.add_(1.0)
        b = fused_decode(g, x, 10, out, force=True)
    _close(b, _layer_logits(g, out, x, 10), 1e-5, "after an in-place update")
    assert not torch.allclose(a, b)


@needs_fused
def test_trained_model_decode_uses_the_fused_decoder():
    from emovae.checkpoint import load_model

    m = load_model("emoreg")
    z = np.random.default_rng(0).standard_normal((48, 2)).astype(np.float32) * 2
    tokens = m.decode(z, "happy")
    e = torch.zeros(48, dtype=torch.long)
    with torch.no_grad():
        x = torch.cat([torch.from_numpy(z), F.one_hot(e, 4).float()], 1)
        fused = fused_decode(m.net.dec_gru, x, 64, m.net.out, force=True)
        plain = m.net.decode(torch.from_numpy(z), e)  # no fused_decoding(): the layer + head
    assert np.array_equal(tokens, m.vocab.decode(fused.argmax(-1).numpy()))
    _close(fused, plain, 1e-5, "bundled model, fused vs layer")
    if CAPS["int16"]:
        q = load_model("emoreg", precision="int16").decode(z, "happy")
        assert (q == tokens).all(1).mean() >= 0.95  # 48 melodies; >= 99 % over 10,000 in the benchmark


@needs_fused
def test_without_avx512_or_vnni_the_fallbacks_run(monkeypatch):
    """No AVX-512 build: no fused decoder (the layer runs); no VNNI: int16 decodes as fp32."""
    g, out = _decoder(H=64, precision="int16")
    x = _inputs(40)
    with torch.no_grad():
        g.precision = "fp32"
        fp32 = fused_decode(g, x, 12, out, force=True)
        g.precision = "int16"
        monkeypatch.setattr(_decode, "_caps", lambda ops: 1)  # fp32 only
        assert torch.equal(fused_decode(g, x, 12, out, force=True), fp32)
        monkeypatch.setattr(_decode, "_caps", lambda ops: 0)  # nothing
        assert fused_decode(g, x, 12, out, force=True) is None
