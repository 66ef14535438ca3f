"""emovae.gru: GRU against torch.nn.GRU (values and gradients, every implementation), the switch
to TorchGRU, Keras's initialisers, and the C++ extension's fallback and EMOVAE_REQUIRE_EXT."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from emovae.errors import EmovaeError
from emovae.gru import (
    GRU,
    TorchGRU,
    _extension,
    _onednn,
    build_extension,
    extension_status,
    keras_init_,
    make_gru,
)
from emovae.gru._function import _GRUFunction

CPU_IMPLS = ["ext", "python"]  # the C++ step loop (pure-PyTorch loop if it cannot be built), the PyTorch loop


def _ref(g: GRU) -> torch.nn.GRU:
    return g.to_torch()


def _close(a: torch.Tensor, b: torch.Tensor, tol: float, what: str = "") -> None:
    assert a.shape == b.shape, (what, a.shape, b.shape)
    err = (a.double() - b.double()).abs().max().item()
    scale = max(1.0, b.double().abs().max().item())
    assert err <= tol * scale, f"{what}: max error {err:.3g} > {tol:.1g} x {scale:.3g}"


def _run(module, x, h0, steps, w_out, w_h):
    """Outputs, h_T and the gradients of a loss using both, w.r.t. x, h0 and the parameters."""
    x = x.detach().clone().requires_grad_(True)
    h0 = None if h0 is None else h0.detach().clone().requires_grad_(True)
    if isinstance(module, torch.nn.GRU):
        B, T = x.shape[0], steps or x.shape[1]
        xin = x.unsqueeze(1).expand(B, T, x.shape[-1]) if steps else x
        out, hT = module(xin, None if h0 is None else h0.unsqueeze(0))
        hT = hT[0]
    else:
        out, hT = module(x, h0, steps=steps)
    loss = (out * w_out).sum() + (hT * w_h).sum()
    wrt = [x] + ([h0] if h0 is not None else []) + list(module.parameters())
    grads = torch.autograd.grad(loss, wrt)
    return out.detach(), hT.detach(), grads


def _case(B, T, I, H, const, dtype=torch.float32, seed=0, h0=True):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((B, I) if const else (B, T, I), generator=gen, dtype=dtype)
    h = (0.5 * torch.randn(B, H, generator=gen, dtype=dtype)) if h0 else None
    w_out = torch.randn(B, T, H, generator=gen, dtype=dtype)
    w_h = torch.randn(B, H, generator=gen, dtype=dtype)
    return x, h, (T if const else None), w_out, w_h


def _compare(a, b, tol):
    (oa, ha, ga), (ob, hb, gb) = a, b
    _close(oa, ob, tol, "outputs")
    _close(ha, hb, tol, "h_T")
    assert len(ga) == len(gb)
    for k, (x, y) in enumerate(zip(ga, gb)):
        _close(x, y, tol, f"gradient {k}")


@pytest.mark.parametrize("impl", CPU_IMPLS)
@pytest.mark.parametrize("const", [False, True], ids=["sequence", "constant"])
@pytest.mark.parametrize("B,T,I,H", [(3, 5, 4, 8), (2, 7, 6, 32), (1, 4, 3, 20)])
def test_matches_torch_gru(impl, const, B, T, I, H):
    torch.manual_seed(1)
    g = GRU(I, H)
    g.impl = impl
    case = _case(B, T, I, H, const)
    _compare(_run(g, *case), _run(_ref(g), *case), 1e-5)


@pytest.mark.parametrize("impl", CPU_IMPLS)
def test_without_h0_and_one_output_used(impl):
    """Encoder use (only h_T) and decoder use (only the outputs), h0 left out."""
    torch.manual_seed(2)
    g = GRU(5, 16)
    g.impl = impl
    r = _ref(g)
    x, _, _, w_out, w_h = _case(3, 6, 5, 16, False, h0=False)
    _compare(_run(g, x, None, None, 0 * w_out, w_h), _run(r, x, None, None, 0 * w_out, w_h), 1e-5)
    # gradient only through h_T: the outputs get no gradient at all
    xx = x.clone().requires_grad_(True)
    _, hT = g(xx)
    (hT * w_h).sum().backward()
    xr = x.clone().requires_grad_(True)
    (r(xr)[1][0] * w_h).sum().backward()
    _close(xx.grad, xr.grad, 1e-5, "x grad via h_T only")
    # gradient only through the outputs of a constant input
    xc = torch.randn(3, 5, requires_grad=True)
    out, _ = g(xc, steps=6)
    (out * w_out).sum().backward()
    xcr = xc.detach().clone().requires_grad_(True)
    (r(xcr.unsqueeze(1).expand(3, 6, 5))[0] * w_out).sum().backward()
    _close(xc.grad, xcr.grad, 1e-5, "constant x grad via outputs only")


@pytest.mark.parametrize("const", [False, True], ids=["sequence", "constant"])
def test_gradcheck_float64(const):
    torch.manual_seed(3)
    g = GRU(3, 4).double()
    g.impl = "python"
    B, T = 2, 3
    x = torch.randn((B, 3) if const else (B, T, 3), dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(B, 4, dtype=torch.float64, requires_grad=True)
    params = tuple(g.parameters())

    def f(x, h0, *ps):
        out, hT = _GRUFunction.apply(x, h0, *ps, T if const else None, False, False)
        return out, hT

    assert torch.autograd.gradcheck(f, (x, h0, *params), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("impl", CPU_IMPLS)
def test_constant_input_equals_repeated_input(impl):
    torch.manual_seed(4)
    g = GRU(6, 32)
    g.impl = impl
    B, T = 3, 9
    x = torch.randn(B, 6, requires_grad=True)
    h0 = torch.randn(B, 32)
    w_out = torch.randn(B, T, 32)
    out_c, h_c = g(x, h0, steps=T)
    ((out_c * w_out).sum() + h_c.sum()).backward()
    gx_c = x.grad.clone()
    gp_c = [p.grad.clone() for p in g.parameters()]
    g.zero_grad()
    x.grad = None
    xr = x.detach().unsqueeze(1).repeat(1, T, 1).requires_grad_(True)
    out_r, h_r = g(xr, h0)
    ((out_r * w_out).sum() + h_r.sum()).backward()
    _close(out_c.detach(), out_r.detach(), 1e-6, "outputs")
    _close(h_c.detach(), h_r.detach(), 1e-6, "h_T")
    _close(gx_c, xr.grad.sum(1), 1e-5, "d x (sum over steps)")
    for a, b in zip(gp_c, g.parameters()):
        _close(a, b.grad, 1e-5, "parameter gradient")


def _fp32_and(precision, impl, const, seed):
    """One case run by a float32 layer and by the same weights at ``precision``: both results and the case."""
    torch.manual_seed(seed)
    g32 = GRU(7, 64)
    gp = GRU(7, 64, precision=precision)
    gp.load_state_dict(g32.state_dict())
    g32.impl = gp.impl = impl
    case = _case(5, 12, 7, 64, const, seed=seed + 1)
    ref, got = _run(g32, *case), _run(gp, *case)
    assert got[0].dtype == got[1].dtype == torch.float32
    assert all(t.dtype == torch.float32 for t in got[2])
    for k, (a, b) in enumerate(zip(got[2], ref[2])):
        rel = ((a - b).norm() / b.norm()).item()
        assert rel < 3e-2, f"{precision} gradient {k}: relative error {rel:.3g}"
    return ref, got, gp, case


@pytest.mark.parametrize("impl", CPU_IMPLS)
@pytest.mark.parametrize("const", [False, True], ids=["sequence", "constant"])
def test_bf16_close_to_fp32_with_fp32_grads(impl, const):
    (o32, h32, _), (o16, h16, _), _, _ = _fp32_and("bf16", impl, const, 5)
    _close(o16, o32, 3e-2, "bf16 outputs")
    _close(h16, h32, 3e-2, "bf16 h_T")


@pytest.mark.parametrize("impl", CPU_IMPLS)
@pytest.mark.parametrize("const", [False, True], ids=["sequence", "constant"])
def test_bf16_grad_forward_is_fp32_backward_is_bf16(impl, const):
    """precision="bf16-grad": the forward is the float32 forward, bit for bit; the gradients come
    from bfloat16 products (close to float32's, and not equal to them), returned as float32."""
    (o32, h32, gr32), (om, hm, grm), gm, case = _fp32_and("bf16-grad", impl, const, 25)
    assert torch.equal(om, o32) and torch.equal(hm, h32)
    w_hh = 3 if case[1] is not None else 2  # x, [h0,] weight_ih, weight_hh, ...
    assert not torch.equal(grm[w_hh], gr32[w_hh])  # the recurrent weight's gradient went through bf16
    with torch.no_grad():  # inference: the fp32 forward too
        assert torch.equal(gm(*case[:2], steps=case[2])[0], o32)


@pytest.mark.parametrize("const", [False, True], ids=["sequence", "constant"])
def test_native_path_equals_fast_path(const):
    """The torch-native path (what CUDA runs, cuDNN there) gives the same maths on the CPU."""
    torch.manual_seed(7)
    g = GRU(5, 24)
    case = _case(3, 8, 5, 24, const, seed=8)
    g.impl = "native"
    native = _run(g, *case)
    for impl in CPU_IMPLS:
        g.impl = impl
        _compare(_run(g, *case), native, 1e-5)
    g.impl = "auto"  # on the CPU: the fast path
    _compare(_run(g, *case), native, 1e-5)


def test_ext_loop_equals_python_loop():
    if _extension._ext_ops() is None:
        pytest.skip(extension_status())
    torch.manual_seed(9)
    for precision, tol in (("fp32", 1e-5), ("bf16", 1e-2)):
        g = GRU(4, 40, precision=precision)
        for const in (False, True):
            case = _case(5, 6, 4, 40, const, seed=10)
            g.impl = "ext"
            a = _run(g, *case)
            g.impl = "python"
            b = _run(g, *case)
            _compare(a, b, tol)


def test_ext_transpose():
    ops = _extension._ext_ops()
    if ops is None:
        pytest.skip(extension_status())
    for R, C in [(48, 16), (37, 21), (5, 70), (1536, 40)]:
        src = torch.randn(R, C)
        for dtype in (torch.float32, torch.bfloat16):
            out = torch.empty(C, R, dtype=dtype)
            ops.transpose(src, out)
            assert torch.equal(out, src.t().to(dtype)), (R, C, dtype)


@pytest.mark.parametrize("impl", CPU_IMPLS)
def test_batch_of_one_and_short_last_batch(impl):
    """B = 1 and B = 3 (the last batch of an epoch) give the rows of a larger batch."""
    torch.manual_seed(11)
    g = GRU(5, 32)
    g.impl = impl
    x = torch.randn(16, 10, 5)
    out16, h16 = g(x)
    for rows in (slice(0, 1), slice(13, 16)):
        out, h = g(x[rows])
        assert out.shape == (rows.stop - rows.start, 10, 32)
        _close(out.detach(), out16[rows].detach(), 1e-5, "rows of the batch")
        _close(h.detach(), h16[rows].detach(), 1e-5, "h_T rows")
    for B in (1, 3):
        case = _case(B, 10, 5, 32, False, seed=B)
        _compare(_run(g, *case), _run(_ref(g), *case), 1e-5)


@pytest.mark.parametrize("impl", CPU_IMPLS)
def test_buffers_are_not_reused_while_held(impl):
    """Outputs stay valid across later calls; a pending backward survives another forward."""
    torch.manual_seed(12)
    g = GRU(8, 256)  # big enough for the buffer pool
    g.impl = impl
    r = _ref(g)
    x1 = torch.randn(16, 20, 8)
    x2 = torch.randn(16, 20, 8)
    out1, _ = g(x1)
    keep = out1.detach().clone()
    for _ in range(3):
        with torch.no_grad():
            g(x2)
    _close(out1.detach(), keep, 0.0, "outputs of an earlier call")
    loss1 = out1.sum()
    out2, _ = g(x2)  # a second graph alive at the same time
    loss1.backward()
    grads1 = [p.grad.clone() for p in g.parameters()]
    g.zero_grad()
    r(x1)[0].sum().backward()
    for a, b in zip(grads1, r.parameters()):
        _close(a, b.grad, 1e-5, "gradient with another forward in between")
    out2.sum().backward()


def test_fallback_when_extension_cannot_be_built(monkeypatch):
    monkeypatch.setattr(_extension, "_EXT_STATE", {"ops": None, "tried": False, "error": None})
    monkeypatch.delenv("EMOVAE_GRU_EXT", raising=False)
    monkeypatch.delenv("EMOVAE_REQUIRE_EXT", raising=False)

    def fail():
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(_extension, "_build", fail)
    torch.manual_seed(13)
    g = GRU(4, 8)
    case = _case(2, 5, 4, 8, False)
    with pytest.warns(RuntimeWarning, match="C\\+\\+ step loop not available"):
        got = _run(g, *case)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning only
        _run(g, *case)
    assert "not available" in extension_status()
    _compare(got, _run(_ref(g), *case), 1e-5)


def test_extension_can_be_switched_off(monkeypatch):
    monkeypatch.setattr(_extension, "_EXT_STATE", {"ops": None, "tried": False, "error": None})
    monkeypatch.setenv("EMOVAE_GRU_EXT", "0")
    monkeypatch.delenv("EMOVAE_REQUIRE_EXT", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _extension._ext_ops() is None
    assert "EMOVAE_GRU_EXT=0" in extension_status()


def test_without_onednn(monkeypatch):
    """With the private oneDNN ops unusable, F.linear gives the same results."""
    monkeypatch.setattr(_onednn, "_ONEDNN_OK", {torch.float32: False, torch.bfloat16: False})
    torch.manual_seed(14)
    g = GRU(4, 16)
    for impl in CPU_IMPLS:
        g.impl = impl
        for const in (False, True):
            case = _case(3, 5, 4, 16, const)
            _compare(_run(g, *case), _run(_ref(g), *case), 1e-5)


def test_parameters_and_errors():
    g = GRU(35, 12)
    assert {k: tuple(v.shape) for k, v in g.state_dict().items()} == {
        "weight_ih": (36, 35),
        "weight_hh": (36, 12),
        "bias_ih": (36,),
        "bias_hh": (36,),
    }
    with pytest.raises(EmovaeError, match="precision"):
        GRU(3, 4, precision="fp16")
    with pytest.raises(EmovaeError, match="shape"):
        g(torch.randn(2, 5, 34))
    with pytest.raises(EmovaeError, match="constant input"):
        g(torch.randn(2, 5, 35), steps=5)
    with pytest.raises(EmovaeError, match="h0"):
        g(torch.randn(2, 5, 35), torch.randn(3, 12))
    with pytest.raises(EmovaeError, match="dtype"):
        g(torch.randn(2, 5, 35, dtype=torch.float64))


def _fresh_ext_state(monkeypatch, build):
    """The extension not tried yet, its build replaced by ``build``; counts the build attempts."""
    monkeypatch.setattr(_extension, "_EXT_STATE", {"ops": None, "tried": False, "error": None})
    calls = []

    def counted():
        calls.append(1)
        return build()

    monkeypatch.setattr(_extension, "_build", counted)
    return calls


def _no_compiler():
    raise RuntimeError("no compiler here")


def test_require_ext_turns_failed_build_into_error(monkeypatch):
    monkeypatch.delenv("EMOVAE_GRU_EXT", raising=False)
    monkeypatch.setenv("EMOVAE_REQUIRE_EXT", "1")
    calls = _fresh_ext_state(monkeypatch, _no_compiler)
    g = GRU(4, 8)
    x = torch.randn(2, 5, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an error, not the fallback's warning
        with pytest.raises(EmovaeError, match="EMOVAE_REQUIRE_EXT=1") as err:
            g(x)
        assert "no compiler here" in str(err.value) and "EMOVAE_REQUIRE_EXT" in str(err.value)
        assert "\n" not in str(err.value)
        with pytest.raises(EmovaeError, match="EMOVAE_REQUIRE_EXT"):  # again on the next call, no rebuild
            g(x, steps=None)
        with pytest.raises(EmovaeError, match="EMOVAE_REQUIRE_EXT"):
            build_extension()
    assert len(calls) == 1
    # an explicit choice of the PyTorch loop is not a fallback
    g.impl = "python"
    case = _case(2, 5, 4, 8, False)
    _compare(_run(g, *case), _run(_ref(g), *case), 1e-5)


def test_require_ext_off_keeps_the_fallback(monkeypatch):
    monkeypatch.delenv("EMOVAE_GRU_EXT", raising=False)
    monkeypatch.setenv("EMOVAE_REQUIRE_EXT", "0")
    _fresh_ext_state(monkeypatch, _no_compiler)
    with pytest.warns(RuntimeWarning, match="not available"):
        assert build_extension() is False


def test_require_ext_with_extension_switched_off(monkeypatch):
    monkeypatch.setenv("EMOVAE_GRU_EXT", "0")
    monkeypatch.setenv("EMOVAE_REQUIRE_EXT", "yes")
    calls = _fresh_ext_state(monkeypatch, _no_compiler)
    with pytest.raises(EmovaeError, match="EMOVAE_GRU_EXT=0"):
        build_extension()
    assert calls == []


def test_require_ext_passes_when_the_build_works(monkeypatch):
    monkeypatch.delenv("EMOVAE_GRU_EXT", raising=False)
    monkeypatch.setenv("EMOVAE_REQUIRE_EXT", "1")
    sentinel = object()
    _fresh_ext_state(monkeypatch, lambda: sentinel)
    assert _extension._ext_ops() is sentinel
    assert extension_status() == "C++ step loop: in use"


# ---- the switch between emovae's GRU and PyTorch's ------------------------------------------


def test_make_gru_picks_the_layer():
    assert type(make_gru(3, 4)) is GRU
    assert type(make_gru(3, 4, impl="emovae", precision="bf16")) is GRU
    t = make_gru(3, 4, impl="torch", precision="bf16")
    assert type(t) is TorchGRU and t.precision == "bf16"
    with pytest.raises(EmovaeError, match="impl 'cudnn'"):
        make_gru(3, 4, impl="cudnn")
    with pytest.raises(EmovaeError, match="precision"):
        make_gru(3, 4, impl="torch", precision="fp16")


@pytest.mark.parametrize("const", [False, True], ids=["sequence", "constant"])
@pytest.mark.parametrize("h0", [False, True], ids=["zero-h0", "h0"])
def test_state_dict_loads_into_either_layer(const, h0):
    """Same names and shapes; after loading the same weights, same outputs and gradients."""
    torch.manual_seed(20)
    src = make_gru(6, 24, impl="emovae")
    with torch.no_grad():
        for p in src.parameters():
            p.add_(0.3 * torch.randn_like(p))  # away from the other layer's own initialisation
    ours, theirs = make_gru(6, 24, impl="emovae"), make_gru(6, 24, impl="torch")
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    theirs.load_state_dict(src.state_dict())
    ours.load_state_dict(theirs.state_dict())
    case = _case(3, 9, 6, 24, const, seed=21, h0=h0)
    a, b = _run(ours, *case), _run(theirs, *case)
    _compare(a, b, 1e-5)
    _compare(_run(src, *case), a, 0.0)  # ours is src, bit for bit
    # the torch layer is torch.nn.GRU's maths exactly
    _compare(b, _run(theirs.to_torch(), *case), 0.0)
    assert a[0].shape == (3, 9, 24) and a[1].shape == (3, 24)


def test_torch_layer_checks_and_bf16():
    torch.manual_seed(22)
    t = TorchGRU(5, 16)
    with pytest.raises(EmovaeError, match="shape"):
        t(torch.randn(2, 5, 4))
    with pytest.raises(EmovaeError, match="h0"):
        t(torch.randn(2, 5, 5), torch.randn(2, 15))
    tb = TorchGRU(5, 16, precision="bf16")
    tb.load_state_dict(t.state_dict())
    x = torch.randn(3, 7, 5)
    out, h = tb(x)
    assert out.dtype == h.dtype == torch.float32
    _close(out.detach(), t(x)[0].detach(), 3e-2, "TorchGRU bf16 outputs")


def test_same_default_init_for_the_same_seed():
    """Both layers draw the same numbers at construction (a seeded model is the same either way)."""
    torch.manual_seed(23)
    a = make_gru(7, 12, impl="emovae")
    after_a = torch.rand(1)
    torch.manual_seed(23)
    b = make_gru(7, 12, impl="torch")
    assert torch.equal(torch.rand(1), after_a)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k


# ---- Keras's initialisers --------------------------------------------------------------------


@pytest.mark.parametrize("impl", ["emovae", "torch"])
def test_keras_init_whole_matrix_orthogonal_and_glorot(impl):
    I, H = 35, 64
    torch.manual_seed(24)
    g = make_gru(I, H, impl=impl)
    assert keras_init_(g) is g
    w_hh = g.weight_hh.detach()
    # orthogonal over the whole Keras (H, 3H) kernel: W^T W = I_H. Gate by gate it would be 3 I_H.
    assert torch.allclose(w_hh.T @ w_hh, torch.eye(H), atol=1e-5)
    w_ih = g.weight_ih.detach()
    limit = math.sqrt(6 / (I + 3 * H))  # glorot over the whole (I, 3H) kernel; gate by gate: 6 / (I + H)
    assert limit * 0.95 < w_ih.abs().max() <= limit
    assert abs(w_ih.mean().item()) < 0.1 * limit
    assert torch.count_nonzero(g.bias_ih) == 0 and torch.count_nonzero(g.bias_hh) == 0


def test_keras_init_same_for_both_layers_and_model_recipe():
    """Same seed -> same weights in both layers, and the same numbers as the per-parameter recipe
    ``CVAE.reset_parameters`` used (xavier_uniform_ on weight_ih, then orthogonal_ on weight_hh)."""
    torch.manual_seed(25)
    a = keras_init_(make_gru(6, 20, impl="emovae"))
    torch.manual_seed(25)
    b = keras_init_(make_gru(6, 20, impl="torch"))
    torch.manual_seed(25)
    c = make_gru(6, 20)
    with torch.no_grad():
        for name, p in c.named_parameters():
            if name.endswith("weight_hh"):
                torch.nn.init.orthogonal_(p)
            elif "weight" in name:
                torch.nn.init.xavier_uniform_(p)
            else:
                torch.nn.init.zeros_(p)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
        assert torch.equal(v, c.state_dict()[k]), k


def test_keras_init_with_a_generator():
    g1 = keras_init_(GRU(4, 8), generator=torch.Generator().manual_seed(3))
    g2 = keras_init_(TorchGRU(4, 8), generator=torch.Generator().manual_seed(3))
    g3 = keras_init_(GRU(4, 8), generator=torch.Generator().manual_seed(4))
    assert torch.equal(g1.weight_hh, g2.weight_hh) and torch.equal(g1.weight_ih, g2.weight_ih)
    assert not torch.equal(g1.weight_hh, g3.weight_hh)
    with pytest.raises(EmovaeError, match="keras_init_.*GRU"):
        keras_init_(torch.nn.GRU(4, 8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("const", [False, True], ids=["sequence", "constant"])
def test_cuda_matches_cpu(const):
    torch.manual_seed(15)
    g = GRU(6, 64)
    x, h0, steps, w_out, w_h = _case(4, 10, 6, 64, const, seed=16)
    cpu = _run(g, x, h0, steps, w_out, w_h)
    gc = GRU(6, 64).cuda()
    gc.load_state_dict(g.state_dict())
    with warnings.catch_warnings(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        warnings.simplefilter("error")  # e.g. cuDNN's "weights are not part of single contiguous chunk"
        cuda = _run(gc, x.cuda(), h0.cuda(), steps, w_out.cuda(), w_h.cuda())
    _compare((cuda[0].cpu(), cuda[1].cpu(), [t.cpu() for t in cuda[2]]), cpu, 1e-4)
    gt = TorchGRU(6, 64).cuda()
    gt.load_state_dict(g.state_dict())
    _compare(_run(gt, x.cuda(), h0.cuda(), steps, w_out.cuda(), w_h.cuda()), cuda, 1e-6)
    gb = GRU(6, 64, precision="bf16").cuda()
    gb.load_state_dict(g.state_dict())
    out, hT = gb(x.cuda(), h0.cuda(), steps=steps)
    assert out.dtype == hT.dtype == torch.float32
    _close(out.detach().cpu(), cpu[0], 5e-2, "bf16 on CUDA")


@pytest.mark.parametrize("impl", ["emovae", "torch"])
def test_int16_precision_is_inference_only_and_fp32_elsewhere(impl):
    """precision="int16" (the fused decoder's) trains nothing; a layer call outside that decoder is fp32."""
    torch.manual_seed(23)
    ref = make_gru(5, 16, impl=impl)
    g = make_gru(5, 16, impl=impl, precision="int16")
    g.load_state_dict(ref.state_dict())
    x = torch.randn(40, 7, 5)
    with pytest.raises(EmovaeError, match="int16.*inference only"):
        g(x)
    with torch.no_grad():
        assert torch.equal(g(x)[0], ref(x)[0])
        assert torch.equal(g(x[:, 0], steps=7)[0], ref(x[:, 0], steps=7)[0])
    frozen = x.clone()  # grad mode on, but nothing needs a gradient: not recorded, allowed
    for p in g.parameters():
        p.requires_grad_(False)
    out, _ = g(frozen)
    assert not out.requires_grad


@pytest.mark.parametrize("impl", CPU_IMPLS)
def test_no_grad_forward_equals_recorded_forward(impl):
    """Inference (nothing recorded) returns the recorded forward's outputs bit for bit, both loops."""
    torch.manual_seed(24)
    g = GRU(6, 40)
    g.impl = impl
    for x, steps in ((torch.randn(33, 6), 11), (torch.randn(33, 11, 6), None)):
        out, hT = g(x, steps=steps)
        with torch.no_grad():
            out_i, hT_i = g(x, steps=steps)
        assert torch.equal(out_i, out.detach()) and torch.equal(hT_i, hT.detach())


def _tiled_here() -> bool:
    """The build has the tiled loops (whatever EMOVAE_GRU_TILED says; the tests set it)."""
    ops = _extension._ext_ops()
    return ops is not None and bool(int(ops.tiled_caps()) & 1)


@pytest.mark.parametrize("H", [16, 32, 48, 64])  # backward panels: 16, 32, 48, 48 + 16 columns
@pytest.mark.parametrize("const", [False, True], ids=["sequence", "constant"])
def test_tiled_loop_equals_step_loop_and_torch(monkeypatch, H, const):
    """The tiled float32 loops (AVX-512 builds) against the per-step oneDNN loop and torch.nn.GRU:
    outputs, h_T and every gradient, with and without h0, for full and partial 8-row tiles."""
    if not _tiled_here():
        pytest.skip("tiled loops need the C++ extension built with AVX-512")
    torch.manual_seed(30 + H)
    g = GRU(5, H)
    g.impl = "ext"
    for B in (1, 8, 11, 17):
        for h0 in (False, True):
            case = _case(B, 9, 5, H, const, seed=B, h0=h0)
            monkeypatch.setenv("EMOVAE_GRU_TILED", "1")
            tiled = _run(g, *case)
            monkeypatch.setenv("EMOVAE_GRU_TILED", "0")
            step = _run(g, *case)
            _compare(tiled, step, 1e-5)
            _compare(tiled, _run(_ref(g), *case), 1e-5)


def test_tiled_rows_independent_of_batch_and_threads(monkeypatch):
    """With the tiled loops a row's outputs depend on that row only: the same bits in a batch of 19
    as alone, on 1 thread as on 2 (a property the per-step oneDNN loop does not promise)."""
    if not _tiled_here():
        pytest.skip("tiled loops need the C++ extension built with AVX-512")
    monkeypatch.setenv("EMOVAE_GRU_TILED", "1")
    torch.manual_seed(40)
    g = GRU(7, 64)
    g.impl = "ext"
    x = torch.randn(19, 12, 7)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        out, hT = g(x)
        torch.set_num_threads(1)
        out1, hT1 = g(x)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(out1, out) and torch.equal(hT1, hT)
    for rows in (slice(0, 1), slice(5, 8), slice(9, 19)):
        o, h = g(x[rows])
        assert torch.equal(o, out[rows]) and torch.equal(h, hT[rows]), rows
    # the input gradient of each row of a constant input, too (its own row of the recurrence)
    xc = torch.randn(19, 7)
    grads = []
    for rows in (slice(0, 19), slice(4, 6)):
        xr = xc[rows].clone().requires_grad_(True)
        out, _ = g(xr, steps=10)
        out.sum().backward()
        grads.append(xr.grad)
    _close(grads[1], grads[0][4:6], 1e-6, "constant input gradient rows")


def test_tiled_switch_reads_the_environment(monkeypatch):
    ops = _extension._ext_ops()
    if not _tiled_here():
        pytest.skip("tiled loops need the C++ extension built with AVX-512")
    monkeypatch.setenv("EMOVAE_GRU_TILED", "1")
    assert _extension._tiled(ops, 512, False)
    assert not _extension._tiled(ops, 40, False)  # not a multiple of 16
    assert not _extension._tiled(ops, 512, True)  # bf16: the oneDNN loop
    assert not _extension._tiled(None, 512, False)
    monkeypatch.setenv("EMOVAE_GRU_TILED", "0")
    assert not _extension._tiled(ops, 512, False)


def test_tiled_ops_check_their_arguments():
    ops = _extension._ext_ops()
    if not _tiled_here():
        pytest.skip("tiled loops need the C++ extension built with AVX-512")
    with pytest.raises(RuntimeError, match="W_h must be float32"):
        ops.pack_fwd(torch.randn(40, 20), torch.empty(800))
    w = torch.randn(48, 16)
    wp = torch.empty(1, 16, 48)
    ops.pack_fwd(w, wp)
    # panel [0, k, 16 g + c] = W_h[16 g + c, k]
    assert torch.equal(wp[0], w.t().contiguous())
    with pytest.raises(RuntimeError, match="buffer sizes"):
        ops.fwd_tiled(torch.randn(3, 2, 48), False, torch.zeros(4, 2, 16), torch.empty(5), wp, torch.zeros(48), True)


def _token_grads(g, x, tokens, w_out, w_h, dense: bool):
    """Outputs, h_T and the gradients (x if any, then the parameters) of a token call, or of the
    dense call it stands for."""
    xa = None if x is None else x.detach().clone().requires_grad_(True)
    if dense:
        n = g.input_size - (0 if x is None else x.shape[-1])
        one = torch.nn.functional.one_hot(tokens, n).float()
        out, hT = g(one if xa is None else torch.cat([one, xa], -1))
    else:
        out, hT = g(xa, tokens=tokens)
    loss = (out * w_out).sum() + (hT * w_h).sum()
    grads = torch.autograd.grad(loss, ([] if xa is None else [xa]) + list(g.parameters()))
    return out.detach(), hT.detach(), grads


@pytest.mark.parametrize("layer", ["ext", "python", "torch"])
@pytest.mark.parametrize("m", [3, 0, 9], ids=["tokens+dense", "tokens-only", "9-dense"])
@pytest.mark.parametrize("H", [32, 20])  # 32: the tiled loops; 20: the per-step loop
def test_tokens_equal_their_one_hot(monkeypatch, layer, m, H):
    """forward(x, tokens=t) is forward(cat([one_hot(t, n), x])): the same outputs, h_T and every
    gradient. emovae's C++ loop reads the one-hot as a column lookup (up to 8 dense features; with
    9 it builds the one-hot), the others build it."""
    from emovae.gru import _passes

    calls = []
    real = _passes._token_rows
    monkeypatch.setattr(_passes, "_token_rows", lambda *a: calls.append(1) or real(*a))
    torch.manual_seed(5)
    n, B, T = 6, 5, 9
    g = TorchGRU(n + m, H) if layer == "torch" else GRU(n + m, H)
    if layer != "torch":
        g.impl = layer
    gen = torch.Generator().manual_seed(8)
    tokens = torch.randint(0, n, (B, T), generator=gen)
    tokens[0, :3] = n - 1  # repeats and both ends of the range
    tokens[1, 0] = 0
    x = torch.randn(B, T, m, generator=gen) if m else None
    w_out, w_h = torch.randn(B, T, H, generator=gen), torch.randn(B, H, generator=gen)
    a = _token_grads(g, x, tokens, w_out, w_h, dense=False)
    b = _token_grads(g, x, tokens, w_out, w_h, dense=True)
    _compare(a, b, 2e-5)
    looked_up = layer == "ext" and m <= 8 and _extension._ext_ops() is not None
    assert bool(calls) == looked_up  # the lookup ran where it should, and only there
    with torch.no_grad():  # the inference path: the recorded forward's outputs, bit for bit
        out, hT = g(x, tokens=tokens)
    assert torch.equal(out, a[0]) and torch.equal(hT, a[1])


def test_token_calls_check_their_input():
    g = GRU(7, 16)
    tokens = torch.tensor([[0, 3, 4], [1, 1, 2]])
    x = torch.randn(2, 3, 2)
    g(x, tokens=tokens)  # n = 5 token classes, 2 dense features
    with pytest.raises(EmovaeError, match=r"tokens must lie in \[0, 5\), got values from 0 to 5"):
        g(x, tokens=torch.tensor([[0, 3, 5], [1, 1, 5]]))
    with pytest.raises(EmovaeError, match=r"tokens must lie in \[0, 7\)"):
        g(None, tokens=torch.tensor([[-1, 0, 0], [0, 0, 0]]))
    with pytest.raises(EmovaeError, match="integer indices of shape"):
        g(x, tokens=tokens.float())
    with pytest.raises(EmovaeError, match="integer indices of shape"):
        g(x, tokens=tokens[0])
    with pytest.raises(EmovaeError, match="without steps"):
        g(x, steps=3, tokens=tokens)
    with pytest.raises(EmovaeError, match=r"must have shape \(2, 3, m\) with m < 7"):
        g(torch.randn(2, 4, 2), tokens=tokens)
    with pytest.raises(EmovaeError, match=r"must have shape \(2, 3, m\) with m < 7"):
        g(torch.randn(2, 3, 7), tokens=tokens)
    with pytest.raises(EmovaeError, match="h0 must have shape"):
        g(x, torch.zeros(3, 16), tokens=tokens)
    with pytest.raises(EmovaeError, match=r"tokens must lie in \[0, 5\)"):
        TorchGRU(7, 16)(x, tokens=tokens + 1)
    ops = _extension._ext_ops()
    if ops is not None:  # the kernels check the range themselves too
        with pytest.raises(RuntimeError, match="outside"):
            ops.embed_fwd(
                torch.tensor([0, 7]), torch.empty(0), torch.randn(48, 7), torch.zeros(48), 7, torch.empty(2, 48)
            )


def test_tiled_weight_gradient_kernel():
    """dw_tiled: d(gh)^T h over the rows from k0 on, read as they lie (no transposes), against a
    float64 product; with k0 = B the first step's rows are left out (h_0 = 0 adds nothing)."""
    if not _tiled_here():
        pytest.skip("tiled loops need the C++ extension built with AVX-512")
    ops = _extension._ext_ops()
    gen = torch.Generator().manual_seed(2)
    for N, H, k0 in ((40, 48, 0), (40, 48, 8), (33, 64, 5), (7, 16, 7)):
        dgh, h = torch.randn(N, 3 * H, generator=gen), torch.randn(N, H, generator=gen)
        out = torch.full((3 * H, H), float("nan"))
        ops.dw_tiled(dgh, h, k0, out)
        _close(out, dgh[k0:].double().t() @ h[k0:].double(), 1e-5, f"dW N={N} H={H} k0={k0}")
    with pytest.raises(RuntimeError, match="dw_tiled"):
        ops.dw_tiled(torch.randn(4, 48), torch.randn(4, 16), 5, torch.empty(48, 16))
