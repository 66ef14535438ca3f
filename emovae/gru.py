"""A single-layer GRU with a hand-written forward and backward pass for the CPU.

Same maths and parameter layout as :class:`torch.nn.GRU` (gate order r, z, n;
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, i.e. Keras ``reset_after=True``;
``h' = (1 - z) * n + z * h``), batch first, one layer, one direction.

Why not ``torch.nn.GRU`` on the CPU: its autograd accumulates the recurrent weight gradient one
step at a time (64 rank-16 updates of a 1536 x 512 matrix, memory-bound), its recurrent product
goes through MKL at about half of oneDNN's speed for 16 rows, and each step costs a dozen small
elementwise ops (``tanh`` among them, several times slower than ``sigmoid`` in this build).
What this module does instead (CPU):

* The input projection ``W_i x + b_i`` is one matrix product over all steps; for a constant
  input (the decoder's ``(z, emotion)`` fed at every step) it is computed once, not T times.
* Each step is one matrix product through oneDNN (``mkldnn::_linear_pointwise``) with the
  recurrent weight *prepacked* once per call for the batch size
  (``mkldnn::_reorder_linear_weight``; about twice as fast as a plain weight at 16 rows), then
  one fused, vectorised pass over the gates (``tanh(a)`` as ``2 sigmoid(2a) - 1``).
* The step loops (forward and backward) run in a small C++ extension, compiled on first use
  with ``torch.utils.cpp_extension`` and cached under ``TORCH_EXTENSIONS_DIR`` (default
  ``~/.cache/torch_extensions``; about 10 s on 2 cores, once per machine and torch version).
  Without a compiler or ninja (or with ``EMOVAE_GRU_EXT=0``) the same loops run as PyTorch ops
  after a one-line warning; they are about 1.4x slower per training batch.
* The backward pass keeps the gradients of the gate pre-activations of every step, so the
  weight and bias gradients are one large matrix product (and one sum) over all ``B * T``
  steps; large fp32 products use oneDNN with K-major operands (about 2x MKL here).
* Big work buffers come from a small pool and are reused once nothing holds them any more:
  fresh memory costs a page fault per 4 KiB on first touch, more than the gate arithmetic.
* A private op that is missing or fails is replaced by ``F.linear`` / ``torch.mm``.

``precision="bf16"``: the matrix products run in bfloat16 (weights cast and packed once per
call), the state, the gates and the returned gradients are float32. The recurrent products'
results, the input projection and the recurrent weight gradient pass through bfloat16, as under
``torch.autocast``; the input-side gradients and the bias gradients are accumulated in float32.

On CUDA (or with ``impl="native"``) the layer calls PyTorch's own fused GRU (cuDNN on CUDA)
with the same four parameters; ``precision="bf16"`` runs it under ``torch.autocast``.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from emovae.errors import EmovaeError

__all__ = ["GRU", "extension_status", "build_extension"]

_PRECISIONS = ("fp32", "bf16")
_IMPLS = ("auto", "ext", "python", "native")

# =============================================================================================
# oneDNN matrix products: y = x @ w.T + b, w logical (N, K): plain, a K-major view, or prepacked.
# =============================================================================================

_ONEDNN_OK: dict[torch.dtype, bool] = {}
_PACK_OK: dict[torch.dtype, bool] = {}


def _op(namespace: str, name: str):
    try:
        return getattr(getattr(torch.ops, namespace), name).default
    except (AttributeError, RuntimeError):
        return None


def _check_linear(fn, dtype: torch.dtype) -> bool:
    """Whether ``fn(a, w, b)`` computes a @ w.T + b for ``dtype`` (a small case, vs float64)."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(5, 24, generator=g)
    w = torch.randn(36, 24, generator=g)
    b = torch.randn(36, generator=g)
    ref = F.linear(a.double(), w.double(), b.double())
    tol = 1e-4 if dtype == torch.float32 else 0.15
    ok = True
    for bias in (b, None):
        y = fn(a.to(dtype), w.to(dtype), None if bias is None else bias.to(dtype))
        want = ref if bias is not None else ref - b.double()
        ok = ok and y.shape == want.shape and torch.allclose(y.double(), want, rtol=tol, atol=tol)
    return bool(ok)


def _onednn_usable(dtype: torch.dtype) -> bool:
    """oneDNN's linear works here for ``dtype`` (checked once per dtype)."""
    ok = _ONEDNN_OK.get(dtype)
    if ok is None:
        ok = False
        lp = _op("mkldnn", "_linear_pointwise")
        if lp is not None and dtype in (torch.float32, torch.bfloat16):
            try:
                ok = torch.backends.mkldnn.is_available() and _check_linear(
                    lambda a, w, b: lp(a, w, b, "none", [], ""), dtype
                ) and _check_linear(lambda a, w, b: lp(a, w.t().contiguous().t(), b, "none", [], ""), dtype)
            except Exception:  # noqa: BLE001 - any failure means: do not use it
                ok = False
        _ONEDNN_OK[dtype] = ok
    return ok


def _pack_usable(dtype: torch.dtype) -> bool:
    """oneDNN's weight prepacking works here for ``dtype`` (checked once per dtype)."""
    ok = _PACK_OK.get(dtype)
    if ok is None:
        ok = False
        lp = _op("mkldnn", "_linear_pointwise")
        rl = _op("mkldnn", "_reorder_linear_weight")
        if rl is not None and _onednn_usable(dtype):
            try:
                ok = _check_linear(lambda a, w, b: lp(a, rl(w, a.shape[0]), b, "none", [], ""), dtype)
            except Exception:  # noqa: BLE001
                ok = False
        _PACK_OK[dtype] = ok
    return ok


def _linear_fn(onednn: bool):
    if onednn:
        lp = _op("mkldnn", "_linear_pointwise")

        def linear(a, w, b=None):
            return lp(a, w, b, "none", [], "")

        return linear

    def linear(a, w, b=None):  # noqa: F811
        return F.linear(a, w, b)

    return linear


def _recurrent_weight(w: Tensor, batch: int, onednn: bool) -> Tensor:
    """``w`` (N, K) in the form the per-step product is fastest with: oneDNN-prepacked for
    ``batch`` rows, else a K-major view (oneDNN's fp32 kernels take it without a reorder)."""
    if onednn:
        if _pack_usable(w.dtype):
            try:
                return torch.ops.mkldnn._reorder_linear_weight.default(w.contiguous(), batch)
            except Exception:  # noqa: BLE001
                _PACK_OK[w.dtype] = False
        return w.t().contiguous().t()
    return w.contiguous()


# =============================================================================================
# The C++ step loops (compiled on first use).
# =============================================================================================

_CPP_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "csrc", "gru_loops.cpp")


_EXT_LOCK = threading.Lock()
_EXT_STATE: dict[str, object] = {"ops": None, "tried": False, "error": None}


def _ext_flags() -> list[str]:
    try:
        cap = torch.backends.cpu.get_cpu_capability()
    except Exception:  # noqa: BLE001
        cap = "DEFAULT"
    flags = ["-O3"]
    if cap in ("AVX512", "AVX512_BF16", "AVX512_VNNI", "AMX"):
        flags += ["-DCPU_CAPABILITY=AVX512", "-DCPU_CAPABILITY_AVX512",
                  "-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx512bw", "-mfma"]
    elif cap == "AVX2":
        flags += ["-DCPU_CAPABILITY=AVX2", "-DCPU_CAPABILITY_AVX2", "-mavx2", "-mfma", "-mf16c"]
    return flags


def _ext_ops():
    """The compiled step loops (``torch.ops.<ns>``), building them on first use; None if unavailable."""
    if _EXT_STATE["tried"]:
        return _EXT_STATE["ops"]
    with _EXT_LOCK:
        if _EXT_STATE["tried"]:
            return _EXT_STATE["ops"]
        ops = None
        if os.environ.get("EMOVAE_GRU_EXT", "1").strip() in ("0", "false", "no", "off"):
            _EXT_STATE["error"] = "disabled by EMOVAE_GRU_EXT=0"
        else:
            try:
                ops = _build()
            except Exception as e:  # noqa: BLE001 - no compiler, no ninja, a build error: fall back
                msg = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
                _EXT_STATE["error"] = f"{type(e).__name__}: {msg}"
                warnings.warn(
                    f"emovae.gru: C++ step loop not available ({_EXT_STATE['error']}); "
                    "using the slower pure-PyTorch loop",
                    RuntimeWarning,
                    stacklevel=3,
                )
        _EXT_STATE["ops"] = ops
        _EXT_STATE["tried"] = True
        return ops


def _build():
    from torch.utils import cpp_extension

    with open(_CPP_PATH, encoding="utf-8") as f:
        source = f.read()
    flags = _ext_flags()
    key = hashlib.sha1("\0".join([source, torch.__version__, *flags]).encode()).hexdigest()[:12]
    name = f"emovae_gru_{key}"
    flags = flags + [f"-DEMOVAE_NS={name}"]
    build_dir = cpp_extension._get_build_directory(name, verbose=False)
    src = os.path.join(build_dir, "emovae_gru.cpp")
    old = None
    if os.path.exists(src):
        with open(src, encoding="utf-8") as f:
            old = f.read()
    if old != source:
        tmp = f"{src}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(source)
        os.replace(tmp, src)
    cpp_extension.load(
        name=name, sources=[src], extra_cflags=flags, build_directory=build_dir,
        is_python_module=False, verbose=False,
    )
    ops = getattr(torch.ops, name)
    ops.fwd, ops.bwd, ops.transpose  # noqa: B018 - fail here if the library did not register
    return ops


def extension_status() -> str:
    """One line: whether the C++ step loop is in use (does not build it)."""
    if not _EXT_STATE["tried"]:
        return "C++ step loop: not built yet (built on the first CPU forward pass)"
    if _EXT_STATE["ops"] is not None:
        return "C++ step loop: in use"
    return f"C++ step loop: not available ({_EXT_STATE['error']}); pure-PyTorch loop in use"


def build_extension() -> bool:
    """Build (or load from the cache) the C++ step loop now; True if it is usable."""
    return _ext_ops() is not None


# =============================================================================================
# The same loops as PyTorch ops (fallback; also any dtype, e.g. float64 for gradcheck).
# =============================================================================================


def _py_fwd(gi, constant, hs, g, hsb, w, b, linear):
    T, B, H4 = g.shape
    H = H4 // 4
    g4 = g.view(T, B, 4, H)
    rz_l = g[..., : 2 * H].unbind(0)
    r_l, z_l, n_l, ghn_l = (g4[:, :, k].unbind(0) for k in range(4))
    if constant:
        gi_rz_l = [gi[:, : 2 * H]] * T
        gi_n_l = [gi[:, 2 * H :]] * T
    else:
        gi_rz_l = gi[..., : 2 * H].unbind(0)
        gi_n_l = gi[..., 2 * H :].unbind(0)
    hs_l = hs.unbind(0)
    bf = hsb.numel() > 0
    hsb_l = hsb.unbind(0) if bf else None
    hin_l = hsb_l if bf else hs_l
    split = [2 * H, H]
    for t in range(T):
        gh = linear(hin_l[t], w, b)
        gh_rz, gh_n = gh.split(split, 1)
        rz = rz_l[t]
        torch.add(gi_rz_l[t], gh_rz, out=rz)
        rz.sigmoid_()
        ghn = ghn_l[t]
        ghn.copy_(gh_n)
        n = n_l[t]
        torch.addcmul(gi_n_l[t], r_l[t], ghn, value=1.0, out=n)
        n.mul_(2.0).sigmoid_().mul_(2.0).sub_(1.0)  # tanh(a) = 2 sigmoid(2a) - 1
        torch.lerp(n, hs_l[t], z_l[t], out=hs_l[t + 1])  # h' = n + z (h - n)
        if bf and t + 1 < T:
            hsb_l[t + 1].copy_(hs_l[t + 1])


def _py_bwd(a, g, hs, dgh, dgi, constant, wt, linear):
    T, B, H4 = g.shape
    H = H4 // 4
    g4 = g.view(T, B, 4, H)
    r_l, z_l, n_l, ghn_l = (g4[:, :, k].unbind(0) for k in range(4))
    a_l, hs_l, dgh_l = a.unbind(0), hs.unbind(0), dgh.unbind(0)
    if constant:
        acc = torch.zeros(T, B, 3 * H, dtype=a.dtype)  # summed over the steps at the end
        di_l = acc.view(T, B, 3, H).unbind(0)
    else:
        di_l = dgi.view(T, B, 3, H).unbind(0)
    same = dgh.dtype == a.dtype
    one = torch.ones((), dtype=a.dtype)
    m = None
    for t in range(T - 1, -1, -1):
        at = a_l[t]
        if m is not None:
            at.add_(m).addcmul_(a_l[t + 1], z_l[t + 1])
        r, z, n = r_l[t], z_l[t], n_l[t]
        dr, dz, dn = di_l[t].unbind(1)
        omz = torch.rsub(z, 1.0)
        torch.mul(at, omz, out=dn)
        dn.mul_(torch.addcmul(one, n, n, value=-1.0))  # a (1 - z)(1 - n^2)
        torch.sub(hs_l[t], n, out=dz)
        dz.mul_(at).mul_(z).mul_(omz)
        torch.mul(dn, ghn_l[t], out=dr)
        dr.mul_(r).mul_(torch.rsub(r, 1.0))
        d3 = dgh_l[t].view(B, 3, H)  # [d pre_r, d pre_z, d pre_n * r]
        d3[:, :2].copy_(di_l[t][:, :2])
        if same:
            torch.mul(dn, r, out=d3[:, 2])
        else:
            d3[:, 2].copy_(dn * r)
        m = linear(dgh_l[t], wt)
    if constant:
        dgi.copy_(acc.sum(0))
    return torch.addcmul(m.to(a.dtype), a_l[0], z_l[0])


# =============================================================================================
# The autograd function.
# =============================================================================================

_EMPTY: dict[torch.dtype, Tensor] = {}


class _BufferPool:
    """Hands out big buffers again once nothing outside the pool holds them.

    Fresh memory costs a page fault per 4 KiB on first touch (about 1 us in a VM), i.e. tens of
    microseconds per step of the loops here, more than the gate arithmetic itself. A buffer is
    handed out as a view of a pooled base tensor; it is free again when the storage's use count
    shows no other holder (no saved tensor, no output view, no handout alive).
    """

    MIN_NUMEL = 1 << 15  # smaller buffers come from malloc's free lists anyway
    MAX_PER_KEY = 4
    MAX_BYTES = 1 << 30

    def __init__(self) -> None:
        self._free: dict[tuple[int, torch.dtype], list[Tensor]] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self._use_count = getattr(torch._C, "_storage_Use_Count", None)
        if self._use_count is not None:
            try:  # a lone tensor: its own reference plus the temporary storage object
                probe = torch.empty(4)
                self._base_count = self._use_count(probe.untyped_storage()._cdata)
                view = probe.view(2, 2)
                if self._use_count(probe.untyped_storage()._cdata) != self._base_count + 1:
                    self._use_count = None
                del view
            except Exception:  # noqa: BLE001
                self._use_count = None

    def empty(self, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        n = math.prod(shape)
        if self._use_count is None or n < self.MIN_NUMEL:
            return torch.empty(shape, dtype=dtype)
        key = (n, dtype)
        with self._lock:
            bases = self._free.setdefault(key, [])
            for base in bases:
                if self._use_count(base.untyped_storage()._cdata) == self._base_count:
                    return base.view(shape)
            base = torch.empty(n, dtype=dtype)
            nbytes = n * base.element_size()
            if len(bases) < self.MAX_PER_KEY and self._bytes + nbytes <= self.MAX_BYTES:
                bases.append(base)
                self._bytes += nbytes
            return base.view(shape)

    def clear(self) -> None:
        with self._lock:
            self._free.clear()
            self._bytes = 0


_POOL = _BufferPool()


def _empty(dtype: torch.dtype) -> Tensor:
    t = _EMPTY.get(dtype)
    if t is None:
        t = _EMPTY[dtype] = torch.empty(0, dtype=dtype)
    return t


def _cast(t: Tensor, dtype: torch.dtype) -> Tensor:
    """``t`` (any strides) as a contiguous ``dtype`` tensor in a pooled buffer (one copy)."""
    if t.dtype == dtype and t.is_contiguous():
        return t
    out = _POOL.empty(tuple(t.shape), dtype)
    out.copy_(t)
    return out


def _transposed(t: Tensor, dtype: torch.dtype, ops, pooled: bool = True) -> Tensor:
    """``t.t()`` (t 2-D) as a contiguous ``dtype`` tensor; blocked transpose in C++ if there."""
    shape = (t.shape[1], t.shape[0])
    if ops is not None and t.dtype == torch.float32 and dtype in (torch.float32, torch.bfloat16):
        out = _POOL.empty(shape, dtype) if pooled else torch.empty(shape, dtype=dtype)
        ops.transpose(t.contiguous(), out)
        return out
    if not pooled:
        return t.t().to(dtype).contiguous()
    return _cast(t.t(), dtype)


def _forward_pass(x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, ops, onednn):
    """The forward recurrence. Returns the buffers hs (T+1,B,H), g (T,B,4H), hsb (T,B,H)."""
    const = steps is not None
    B = x.shape[0]
    T = steps if const else x.shape[1]
    H = w_hh.shape[1]
    sdt = torch.float32 if bf16 else x.dtype  # state dtype
    cdt = torch.bfloat16 if bf16 else x.dtype  # matrix-product dtype
    linear = _linear_fn(onednn)

    # Input projection W_i x + b_i, once for all steps: (T, B, 3H) time-major, or (B, 3H).
    x2 = x if const else x.transpose(0, 1).reshape(T * B, x.shape[2])
    gi = linear(x2.to(cdt).contiguous(), w_ih.to(cdt).contiguous(), b_ih.to(cdt))
    gi = gi.contiguous() if const else gi.contiguous().view(T, B, 3 * H)
    w = _recurrent_weight(_cast(w_hh, cdt), B, onednn)
    b = b_hh.to(cdt)

    hs = _POOL.empty((T + 1, B, H), sdt)
    if h0 is None:
        hs[0].zero_()
    else:
        hs[0].copy_(h0)
    g = _POOL.empty((T, B, 4 * H), sdt)
    if bf16:
        hsb = _POOL.empty((T, B, H), cdt)
        hsb[0].copy_(hs[0])
    else:
        hsb = _empty(cdt)
    if ops is not None:
        ops.fwd(gi, const, hs, g, hsb, w, b, onednn, h0 is None)
    else:
        _py_fwd(gi, const, hs, g, hsb, w, b, linear)
    return hs, g, hsb


def _backward_pass(grad_out, grad_hT, x, h0, w_ih, w_hh, hs, g, hsb, steps, bf16, needs, ops, onednn, onednn_s):
    """The backward recurrence and the parameter gradients."""
    const = steps is not None
    T, B, H4 = g.shape
    H = H4 // 4
    TB = T * B
    sdt = hs.dtype
    cdt = torch.bfloat16 if bf16 else sdt
    linear = _linear_fn(onednn)
    linear_s = _linear_fn(onednn_s)

    # a_t = dL/dh_t, starting from the gradients that reach the outputs.
    a = _POOL.empty((T, B, H), sdt)
    if grad_out is not None:
        a.copy_(grad_out.transpose(0, 1))
    else:
        a.zero_()
    if grad_hT is not None:
        a[T - 1].add_(grad_hT)
    dgh = _POOL.empty((T, B, 3 * H), cdt)  # d(W_h h + b_h) per step
    dgi = _POOL.empty((B, 3 * H) if const else (T, B, 3 * H), sdt)  # d(W_i x + b_i)
    if const:
        dgi.zero_()
    wt = _recurrent_weight(_transposed(w_hh, cdt, ops), B, onednn)  # logical (H, 3H)
    need_dh0 = h0 is not None and needs[1]
    if ops is not None:
        dh0 = ops.bwd(a, g, hs, dgh, dgi, const, wt, onednn, need_dh0)
    else:
        dh0 = _py_bwd(a, g, hs, dgh, dgi, const, wt, linear)

    # Input side, in the state dtype: d(W_i x + b_i) = dgi.
    g_x = g_w_ih = g_b_ih = None
    dgi2 = dgi if const else dgi.view(TB, 3 * H)
    db_i = dgi2.sum(0)
    if const:
        if needs[0]:
            g_x = torch.mm(dgi2, w_ih)
        if needs[2]:
            g_w_ih = torch.mm(dgi2.t(), x)
    else:
        if needs[0]:
            g_x = linear_s(dgi2, w_ih.t()).view(T, B, -1).transpose(0, 1)  # K-major weight
        if needs[2]:
            xt = x.transpose(0, 1).reshape(TB, x.shape[2]).t().contiguous()  # (I, TB)
            g_w_ih = linear_s(xt, dgi2.t()).t().contiguous()
    if needs[4]:
        g_b_ih = db_i

    # Recurrent weight and bias: one product and one sum over all B*T steps.
    g_w_hh = g_b_hh = None
    dgh2 = dgh.view(TB, 3 * H)
    if needs[3]:
        if bf16:
            g_w_hh = torch.mm(dgh2.t(), hsb.view(TB, H)).to(sdt)
        elif onednn:  # oneDNN with K-major operands: about twice MKL's speed here
            hT = _transposed(hs[:T].reshape(TB, H), sdt, ops)  # (H, TB)
            g_w_hh = _transposed(linear(hT, dgh2.t()), sdt, ops, pooled=False)  # (3H, H)
        else:
            g_w_hh = torch.mm(dgh2.t(), hs[:T].reshape(TB, H))
    if needs[5]:
        # gates r, z: as on the input side; gate n: d pre_n * r (the last third of dgh)
        g_b_hh = torch.cat([db_i[: 2 * H], dgh2[:, 2 * H :].sum(0, dtype=sdt)])
    g_h0 = dh0 if need_dh0 else None
    return g_x, g_h0, g_w_ih, g_w_hh, g_b_ih, g_b_hh


class _GRUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, use_ext):
        sdt = torch.float32 if bf16 else x.dtype
        cdt = torch.bfloat16 if bf16 else x.dtype
        ops = _ext_ops() if (use_ext and sdt == torch.float32) else None
        onednn = _onednn_usable(cdt)
        args = (x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, ops)
        try:
            hs, g, hsb = _forward_pass(*args, onednn)
        except RuntimeError:
            if not onednn:
                raise
            _ONEDNN_OK[cdt] = False  # a private op that fails: never again, use F.linear
            hs, g, hsb = _forward_pass(*args, False)
        ctx.save_for_backward(x, h0, w_ih, w_hh, hs, g, hsb)
        ctx.steps = steps
        ctx.bf16 = bf16
        ctx.use_ext = use_ext
        ctx.set_materialize_grads(False)
        T = g.shape[0]
        return hs[1:].transpose(0, 1), hs[T]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hT):
        x, h0, w_ih, w_hh, hs, g, hsb = ctx.saved_tensors
        if grad_out is None and grad_hT is None:
            return (None,) * 9
        sdt = hs.dtype
        cdt = torch.bfloat16 if ctx.bf16 else sdt
        ops = _ext_ops() if (ctx.use_ext and sdt == torch.float32) else None
        onednn, onednn_s = _onednn_usable(cdt), _onednn_usable(sdt)
        args = (grad_out, grad_hT, x, h0, w_ih, w_hh, hs, g, hsb, ctx.steps, ctx.bf16, ctx.needs_input_grad, ops)
        try:
            grads = _backward_pass(*args, onednn, onednn_s)
        except RuntimeError:
            if not (onednn or onednn_s):
                raise
            _ONEDNN_OK[cdt] = _ONEDNN_OK[sdt] = False
            grads = _backward_pass(*args, False, False)
        return (*grads, None, None, None)


# =============================================================================================
# The module.
# =============================================================================================


class GRU(nn.Module):
    """Single-layer, batch-first GRU, same maths and parameter layout as torch.nn.GRU.

    Gate order r, z, n; ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` (Keras
    ``reset_after=True``); ``h' = (1 - z) * n + z * h``.

    Args:
        input_size: features per step.
        hidden_size: units.
        precision: ``"fp32"``, or ``"bf16"`` (bfloat16 matrix products; float32 state, float32
            master weights and float32 gradients).

    ``forward(x, h0=None, steps=None)``: ``x`` (B, T, I) gives ``(outputs (B, T, H), h_T (B, H))``.
    With ``steps=T`` and ``x`` (B, I) the same input is fed at each of the T steps (its
    projection is computed once); the result equals passing ``x`` repeated T times.

    The implementation is chosen per call: on the CPU the hand-written pass (C++ step loop,
    else the same loop in PyTorch ops), elsewhere PyTorch's own fused GRU (cuDNN on CUDA).
    The attribute ``impl`` ("auto", "ext", "python", "native") forces one, for tests.
    """

    def __init__(self, input_size: int, hidden_size: int, precision: str = "fp32") -> None:
        super().__init__()
        if precision not in _PRECISIONS:
            raise EmovaeError(f"GRU precision {precision!r} is not one of {', '.join(_PRECISIONS)}")
        if int(input_size) < 1 or int(hidden_size) < 1:
            raise EmovaeError(f"GRU sizes must be positive, got input {input_size}, hidden {hidden_size}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.precision = precision
        self.impl = "auto"
        H = self.hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * H, self.input_size))
        self.weight_hh = nn.Parameter(torch.empty(3 * H, H))
        self.bias_ih = nn.Parameter(torch.empty(3 * H))
        self.bias_hh = nn.Parameter(torch.empty(3 * H))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.GRU's default: every parameter uniform in +-1/sqrt(hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-bound, bound)

    def to_torch(self) -> nn.GRU:
        """An equivalent ``torch.nn.GRU`` (batch first) holding copies of these weights."""
        ref = nn.GRU(self.input_size, self.hidden_size, batch_first=True)
        ref = ref.to(device=self.weight_hh.device, dtype=self.weight_hh.dtype)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(ref, f"{name}_l0").copy_(getattr(self, name))
        return ref

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, precision={self.precision!r}"

    # cuDNN wants the four tensors in one flat buffer (as nn.RNNBase.flatten_parameters does).
    def _apply(self, fn, *args, **kwargs):
        out = super()._apply(fn, *args, **kwargs)
        self._flatten_for_cudnn()
        return out

    def _flatten_for_cudnn(self) -> None:
        ws = [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]
        if not all(w.is_cuda for w in ws) or len({w.dtype for w in ws}) != 1:
            return
        try:
            from torch.backends import cudnn

            if not cudnn.is_acceptable(ws[0].data):
                return
            with torch.no_grad():
                if torch._use_cudnn_rnn_flatten_weight():
                    # 4 tensors, mode 3 = GRU, no projection, 1 layer, batch first, 1 direction
                    torch._cudnn_rnn_flatten_weight(ws, 4, self.input_size, 3, self.hidden_size, 0, 1, True, False)
        except Exception:  # noqa: BLE001 - flattening only saves a copy per call
            pass

    def _check(self, x: Tensor, h0: Tensor | None, steps: int | None) -> int:
        I, H = self.input_size, self.hidden_size
        if steps is None:
            if x.dim() != 3 or x.shape[2] != I:
                raise EmovaeError(f"GRU input must have shape (batch, steps, {I}), got {tuple(x.shape)}")
            T = x.shape[1]
        else:
            if x.dim() != 2 or x.shape[1] != I:
                raise EmovaeError(
                    f"GRU constant input (steps={steps}) must have shape (batch, {I}), got {tuple(x.shape)}"
                )
            T = int(steps)
        if T < 1 or x.shape[0] < 1:
            raise EmovaeError(f"GRU input needs at least one example and one step, got {tuple(x.shape)} steps {T}")
        if h0 is not None and tuple(h0.shape) != (x.shape[0], H):
            raise EmovaeError(f"GRU h0 must have shape ({x.shape[0]}, {H}), got {tuple(h0.shape)}")
        return T

    def forward(self, x: Tensor, h0: Tensor | None = None, steps: int | None = None) -> tuple[Tensor, Tensor]:
        T = self._check(x, h0, steps)
        impl = self.impl
        if impl not in _IMPLS:
            raise EmovaeError(f"GRU impl {impl!r} is not one of {', '.join(_IMPLS)}")
        if impl == "auto":
            impl = "ext" if x.device.type == "cpu" else "native"
        if impl == "native":
            return self._forward_native(x, h0, steps, T)
        if x.device.type != "cpu":
            raise EmovaeError(f"GRU impl {impl!r} runs on the CPU only, input is on {x.device}")
        wdt = self.weight_hh.dtype
        if x.dtype != wdt or (h0 is not None and h0.dtype != wdt):
            raise EmovaeError(f"GRU input dtype {x.dtype} does not match its weights' {wdt}")
        bf16 = self.precision == "bf16"
        if bf16 and wdt != torch.float32:
            raise EmovaeError(f"GRU precision 'bf16' needs float32 weights, got {wdt}")
        return _GRUFunction.apply(
            x, h0, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
            None if steps is None else T, bf16, impl == "ext",
        )

    def _forward_native(self, x: Tensor, h0: Tensor | None, steps: int | None, T: int):
        B, H = x.shape[0], self.hidden_size
        if steps is not None:
            x = x.unsqueeze(1).expand(B, T, self.input_size)
        hx = x.new_zeros(1, B, H) if h0 is None else h0.unsqueeze(0)
        params = [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]
        if self.precision == "bf16":
            with torch.autocast(x.device.type, dtype=torch.bfloat16):
                out, hn = torch._VF.gru(x, hx, params, True, 1, 0.0, self.training, False, True)
            return out.float(), hn[0].float()
        out, hn = torch._VF.gru(x, hx, params, True, 1, 0.0, self.training, False, True)
        return out, hn[0]
