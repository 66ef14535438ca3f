"""A single-layer GRU with a hand-written forward and backward pass for the CPU.

Same maths and parameter layout as :class:`torch.nn.GRU` (gate order r, z, n;
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, i.e. Keras ``reset_after=True``;
``h' = (1 - z) * n + z * h``), batch first, one layer, one direction.

Why not ``torch.nn.GRU`` on the CPU: its autograd accumulates the recurrent weight gradient one
step at a time (64 rank-16 updates of a 1536 x 512 matrix, memory-bound), its recurrent product
goes through MKL at about half of oneDNN's speed for 16 rows, and every step costs a dozen small
elementwise ops (``tanh`` among them, several times slower than ``sigmoid`` in this build). Here:

* the input projection is one matrix product over all steps; with a constant input (the
  decoder's ``(z, emotion)`` fed at every step) it is computed once, not T times;
* each step is one matrix product through oneDNN (``mkldnn::_linear_pointwise``) with the
  recurrent weight *prepacked* once per call (``mkldnn::_reorder_linear_weight``; this halves
  the time of a 16-row product), followed by one fused pass over the gates;
* the step loop (forward and backward) runs in a small C++ extension compiled on first use
  (``torch.utils.cpp_extension``, cached under ``TORCH_EXTENSIONS_DIR``, by default
  ``~/.cache/torch_extensions``); the fused gate pass is vectorised with ATen's ``Vectorized``.
  Without a compiler (or with ``EMOVAE_GRU_EXT=0``) the same loop runs as PyTorch ops, with a
  one-line warning;
* the backward pass keeps the gradient of the gate pre-activations of every step, so that the
  weight and bias gradients are one large matrix product (and one sum) over all ``B * T`` steps;
* any private oneDNN op that is missing or fails is replaced by ``F.linear``.

``precision="bf16"``: the matrix products run in bfloat16 (weights cast and packed once per
call), the state, the gates and the returned gradients stay in float32; results of the
recurrent products and the recurrent weight gradient pass through bfloat16, as under
``torch.autocast``; input-side gradients are computed in float32.

On CUDA (or with ``impl="native"``) the layer calls PyTorch's own fused GRU (cuDNN on CUDA)
with the same four parameters.
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

_CPP_SOURCE = r"""
// emovae GRU: CPU step loops (forward and backward) with fused gate passes.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>
#include <torch/library.h>

#include <algorithm>
#include <type_traits>
#include <vector>

namespace {
using at::Tensor;
using c10::BFloat16;
using Vec = at::vec::Vectorized<float>;
constexpr int64_t VS = Vec::size();

template <typename T>
inline Vec ld(const T* p, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    return n == VS ? Vec::loadu(p) : Vec::loadu(p, n);
  } else {
    if (n == VS) {
      Vec v;
      at::vec::load_fp32_from_bf16(p, v);
      return v;
    }
    alignas(64) float buf[VS] = {0};
    for (int64_t k = 0; k < n; ++k) buf[k] = static_cast<float>(p[k]);
    return Vec::loadu(buf);
  }
}

template <typename T>
inline void st(T* p, const Vec& v, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    if (n == VS) v.store(p); else v.store(p, n);
  } else {
    at::vec::convert_from_float<BFloat16>(v, v).store(p, n);
  }
}

inline Vec sigm(const Vec& x) {
  const Vec one(1.f);
  return (one + x.neg().exp_u20()).reciprocal();
}

// y = x @ w.T (+ b) through oneDNN (w plain, K-major or prepacked), else at::linear.
Tensor linear(const Tensor& x, const Tensor& w, const c10::IValue& b, bool onednn) {
  if (onednn) {
    static const c10::OperatorHandle op =
        c10::Dispatcher::singleton().findSchemaOrThrow("mkldnn::_linear_pointwise", "");
    std::vector<c10::IValue> stack;
    stack.reserve(6);
    stack.emplace_back(x);
    stack.emplace_back(w);
    stack.emplace_back(b);
    stack.emplace_back(std::string("none"));
    stack.emplace_back(c10::List<std::optional<at::Scalar>>());
    stack.emplace_back(c10::IValue());
    op.callBoxed(&stack);
    return stack[0].toTensor().contiguous();
  }
  if (b.isNone()) return at::matmul(x, w.t()).contiguous();
  return at::linear(x, w, b.toTensor()).contiguous();
}

template <typename F>
void rows(int64_t B, int64_t par, const F& f) {
  if (par > 1 && B > 1) at::parallel_for(0, B, (B + par - 1) / par, f); else f(0, B);
}

// Forward gates for rows [i0, i1). gi row: [W_ir x + b_ir, W_iz x + b_iz, W_in x + b_in];
// gh row: W_h h + b_h. Writes g row [r, z, n, W_hn h + b_hn], the new state and its bf16 copy.
template <typename GH>
void fwd_rows(int64_t i0, int64_t i1, int64_t H, const float* gi, const GH* gh, const float* h,
              float* g, float* hn, BFloat16* hb) {
  const Vec one(1.f), two(2.f);
  for (int64_t i = i0; i < i1; ++i) {
    const float* gir = gi + i * 3 * H;
    const GH* ghr = gh + i * 3 * H;
    float* gr = g + i * 4 * H;
    for (int64_t j = 0; j < H; j += VS) {
      const int64_t n = std::min(VS, H - j);
      const Vec r = sigm(ld(gir + j, n) + ld(ghr + j, n));
      const Vec z = sigm(ld(gir + H + j, n) + ld(ghr + H + j, n));
      const Vec ghn = ld(ghr + 2 * H + j, n);
      const Vec a = ld(gir + 2 * H + j, n) + r * ghn;
      const Vec nn = two * sigm(a + a) - one;  // tanh(a)
      const Vec hp = ld(h + i * H + j, n);
      const Vec out = nn + z * (hp - nn);
      st(gr + j, r, n);
      st(gr + H + j, z, n);
      st(gr + 2 * H + j, nn, n);
      st(gr + 3 * H + j, ghn, n);
      st(hn + i * H + j, out, n);
      if (hb) st(hb + i * H + j, out, n);
    }
  }
}

// gi: (T,B,3H), or (B,3H) for a constant input; hs: (T+1,B,H), hs[0] set; g: (T,B,4H), out;
// hsb: (T,B,H) bf16 copies of h_0..h_{T-1} (hsb[0] set), or empty; w: logical (3H,H);
// b: (3H,), in the product dtype.
void gru_fwd(const Tensor& gi, bool constant, const Tensor& hs, const Tensor& g, const Tensor& hsb,
             const Tensor& w, const Tensor& b, bool onednn, int64_t par) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t T = g.size(0), B = g.size(1), H = hs.size(2);
  TORCH_CHECK(gi.is_contiguous() && hs.is_contiguous() && g.is_contiguous() && hsb.is_contiguous(),
              "emovae gru fwd: buffers must be contiguous");
  TORCH_CHECK(gi.scalar_type() == at::kFloat && hs.scalar_type() == at::kFloat &&
              g.scalar_type() == at::kFloat, "emovae gru fwd: state must be float32");
  TORCH_CHECK(gi.numel() == (constant ? 1 : T) * B * 3 * H && hs.numel() == (T + 1) * B * H &&
              g.numel() == T * B * 4 * H, "emovae gru fwd: buffer sizes");
  const bool bf = hsb.numel() > 0;
  TORCH_CHECK(!bf || (hsb.scalar_type() == at::kBFloat16 && hsb.numel() == T * B * H));
  const float* gi_p = gi.data_ptr<float>();
  float* hs_p = hs.data_ptr<float>();
  float* g_p = g.data_ptr<float>();
  BFloat16* hb_p = bf ? hsb.data_ptr<BFloat16>() : nullptr;
  const c10::IValue bias(b);
  for (int64_t t = 0; t < T; ++t) {
    const Tensor gh = linear(bf ? hsb.select(0, t) : hs.select(0, t), w, bias, onednn);
    const float* git = gi_p + (constant ? 0 : t * B * 3 * H);
    const float* ht = hs_p + t * B * H;
    float* gt = g_p + t * B * 4 * H;
    float* hn = hs_p + (t + 1) * B * H;
    BFloat16* hbt = (bf && t + 1 < T) ? hb_p + (t + 1) * B * H : nullptr;
    if (gh.scalar_type() == at::kBFloat16) {
      const BFloat16* p = gh.data_ptr<BFloat16>();
      rows(B, par, [&](int64_t i0, int64_t i1) { fwd_rows(i0, i1, H, git, p, ht, gt, hn, hbt); });
    } else {
      TORCH_CHECK(gh.scalar_type() == at::kFloat);
      const float* p = gh.data_ptr<float>();
      rows(B, par, [&](int64_t i0, int64_t i1) { fwd_rows(i0, i1, H, git, p, ht, gt, hn, hbt); });
    }
  }
}

// Backward gates for rows [i0, i1). When m is given, first completes the state gradient
// a_t += m + a_{t+1} z_{t+1} (m = d(gh)_{t+1} @ W_h). Then writes
// dgh = d(W_h h + b_h) = [d pre_r, d pre_z, d pre_n * r] and dgin = d pre_n = d(W_in x + b_in).
template <typename M>
void bwd_rows(int64_t i0, int64_t i1, int64_t H, float* a, const float* anext, const M* m,
              const float* gnext, const float* g, const float* hp, float* dgh, BFloat16* dghb,
              float* dgin) {
  const Vec one(1.f);
  for (int64_t i = i0; i < i1; ++i) {
    float* ar = a + i * H;
    const float* gr = g + i * 4 * H;
    float* dr = dgh + i * 3 * H;
    for (int64_t j = 0; j < H; j += VS) {
      const int64_t n = std::min(VS, H - j);
      Vec av = ld(ar + j, n);
      if (m) {
        av = av + ld(m + i * H + j, n) + ld(anext + i * H + j, n) * ld(gnext + i * 4 * H + H + j, n);
        st(ar + j, av, n);
      }
      const Vec r = ld(gr + j, n), z = ld(gr + H + j, n);
      const Vec nn = ld(gr + 2 * H + j, n), ghn = ld(gr + 3 * H + j, n);
      const Vec dn = av * (one - z) * (one - nn * nn);
      const Vec dz = av * (ld(hp + i * H + j, n) - nn) * z * (one - z);
      const Vec dr_ = dn * ghn * r * (one - r);
      const Vec dhn = dn * r;
      st(dr + j, dr_, n);
      st(dr + H + j, dz, n);
      st(dr + 2 * H + j, dhn, n);
      if (dghb) {
        BFloat16* db = dghb + i * 3 * H;
        st(db + j, dr_, n);
        st(db + H + j, dz, n);
        st(db + 2 * H + j, dhn, n);
      }
      st(dgin + i * H + j, dn, n);
    }
  }
}

template <typename M>
void last_rows(int64_t i0, int64_t i1, int64_t H, const float* a, const M* m, const float* g, float* out) {
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t j = 0; j < H; j += VS) {
      const int64_t n = std::min(VS, H - j);
      st(out + i * H + j, ld(m + i * H + j, n) + ld(a + i * H + j, n) * ld(g + i * 4 * H + H + j, n), n);
    }
}

// a: (T,B,H), in: the output gradients (plus the h_T gradient at T-1), out: dL/dh_t.
// g, hs: from the forward; dgh: (T,B,3H), out; dghb: its bf16 copy, or empty; dgin: (T,B,H), out;
// wt: logical (H,3H) (W_h transposed), in the product dtype. Returns dL/dh_0.
Tensor gru_bwd(const Tensor& a, const Tensor& g, const Tensor& hs, const Tensor& dgh,
               const Tensor& dghb, const Tensor& dgin, const Tensor& wt, bool onednn, int64_t par) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t T = g.size(0), B = g.size(1), H = hs.size(2);
  TORCH_CHECK(a.is_contiguous() && g.is_contiguous() && hs.is_contiguous() && dgh.is_contiguous() &&
              dghb.is_contiguous() && dgin.is_contiguous(), "emovae gru bwd: buffers must be contiguous");
  TORCH_CHECK(a.scalar_type() == at::kFloat && g.scalar_type() == at::kFloat &&
              hs.scalar_type() == at::kFloat && dgh.scalar_type() == at::kFloat &&
              dgin.scalar_type() == at::kFloat, "emovae gru bwd: state must be float32");
  TORCH_CHECK(a.numel() == T * B * H && hs.numel() == (T + 1) * B * H && dgh.numel() == T * B * 3 * H &&
              dgin.numel() == T * B * H, "emovae gru bwd: buffer sizes");
  const bool bf = dghb.numel() > 0;
  TORCH_CHECK(!bf || (dghb.scalar_type() == at::kBFloat16 && dghb.numel() == T * B * 3 * H));
  float* a_p = a.data_ptr<float>();
  const float* g_p = g.data_ptr<float>();
  const float* hs_p = hs.data_ptr<float>();
  float* dgh_p = dgh.data_ptr<float>();
  BFloat16* dghb_p = bf ? dghb.data_ptr<BFloat16>() : nullptr;
  float* dgin_p = dgin.data_ptr<float>();
  const c10::IValue none;
  Tensor m;
  for (int64_t t = T - 1; t >= 0; --t) {
    float* at_ = a_p + t * B * H;
    const float* gt = g_p + t * B * 4 * H;
    const float* hpt = hs_p + t * B * H;
    float* dght = dgh_p + t * B * 3 * H;
    BFloat16* dgbt = bf ? dghb_p + t * B * 3 * H : nullptr;
    float* dgint = dgin_p + t * B * H;
    if (!m.defined()) {
      rows(B, par, [&](int64_t i0, int64_t i1) {
        bwd_rows<float>(i0, i1, H, at_, nullptr, nullptr, nullptr, gt, hpt, dght, dgbt, dgint);
      });
    } else if (m.scalar_type() == at::kBFloat16) {
      const BFloat16* mp = m.data_ptr<BFloat16>();
      rows(B, par, [&](int64_t i0, int64_t i1) {
        bwd_rows(i0, i1, H, at_, at_ + B * H, mp, gt + B * 4 * H, gt, hpt, dght, dgbt, dgint);
      });
    } else {
      TORCH_CHECK(m.scalar_type() == at::kFloat);
      const float* mp = m.data_ptr<float>();
      rows(B, par, [&](int64_t i0, int64_t i1) {
        bwd_rows(i0, i1, H, at_, at_ + B * H, mp, gt + B * 4 * H, gt, hpt, dght, dgbt, dgint);
      });
    }
    m = linear(bf ? dghb.select(0, t) : dgh.select(0, t), wt, none, onednn);
  }
  Tensor dh0 = at::empty({B, H}, hs.options());
  if (m.scalar_type() == at::kBFloat16)
    last_rows(0, B, H, a_p, m.data_ptr<BFloat16>(), g_p, dh0.data_ptr<float>());
  else
    last_rows(0, B, H, a_p, m.data_ptr<float>(), g_p, dh0.data_ptr<float>());
  return dh0;
}
}  // namespace

TORCH_LIBRARY(EMOVAE_NS, mod) {
  mod.def("fwd(Tensor gi, bool constant, Tensor hs, Tensor g, Tensor hsb, Tensor w, Tensor b, bool onednn, int par) -> ()", &gru_fwd);
  mod.def("bwd(Tensor a, Tensor g, Tensor hs, Tensor dgh, Tensor dghb, Tensor dgin, Tensor wt, bool onednn, int par) -> Tensor", &gru_bwd);
}
"""

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

    flags = _ext_flags()
    key = hashlib.sha1("\0".join([_CPP_SOURCE, torch.__version__, *flags]).encode()).hexdigest()[:12]
    name = f"emovae_gru_{key}"
    flags = flags + [f"-DEMOVAE_NS={name}"]
    build_dir = cpp_extension._get_build_directory(name, verbose=False)
    src = os.path.join(build_dir, "emovae_gru.cpp")
    if not os.path.exists(src) or open(src, encoding="utf-8").read() != _CPP_SOURCE:
        tmp = f"{src}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(_CPP_SOURCE)
        os.replace(tmp, src)
    cpp_extension.load(
        name=name, sources=[src], extra_cflags=flags, build_directory=build_dir,
        is_python_module=False, verbose=False,
    )
    ops = getattr(torch.ops, name)
    ops.fwd, ops.bwd  # noqa: B018 - fail here if the library did not register
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


def _py_bwd(a, g, hs, dgh, dghb, dgin, wt, linear):
    T, B, H4 = g.shape
    H = H4 // 4
    g4 = g.view(T, B, 4, H)
    r_l, z_l, n_l, ghn_l = (g4[:, :, k].unbind(0) for k in range(4))
    dgh3 = dgh.view(T, B, 3, H)
    dr_l, dz_l, dhn_l = (dgh3[:, :, k].unbind(0) for k in range(3))
    a_l, hs_l, dgin_l, dgh_l = a.unbind(0), hs.unbind(0), dgin.unbind(0), dgh.unbind(0)
    bf = dghb.numel() > 0
    dghb_l = dghb.unbind(0) if bf else None
    one = torch.ones((), dtype=a.dtype)
    m = None
    for t in range(T - 1, -1, -1):
        at = a_l[t]
        if m is not None:
            at.add_(m).addcmul_(a_l[t + 1], z_l[t + 1])
        r, z, n = r_l[t], z_l[t], n_l[t]
        omz = torch.rsub(z, 1.0)
        dn = dgin_l[t]
        torch.mul(at, omz, out=dn)
        dn.mul_(torch.addcmul(one, n, n, value=-1.0))  # (1 - z)(1 - n^2) a
        dz = dz_l[t]
        torch.sub(hs_l[t], n, out=dz)
        dz.mul_(at).mul_(z).mul_(omz)
        dr = dr_l[t]
        torch.mul(dn, ghn_l[t], out=dr)
        dr.mul_(r).mul_(torch.rsub(r, 1.0))
        torch.mul(dn, r, out=dhn_l[t])
        if bf:
            dghb_l[t].copy_(dgh_l[t])
        m = linear(dghb_l[t] if bf else dgh_l[t], wt)
    return torch.addcmul(m.to(a.dtype), a_l[0], z_l[0])


# =============================================================================================
# The autograd function.
# =============================================================================================

_EMPTY: dict[torch.dtype, Tensor] = {}


def _empty(dtype: torch.dtype) -> Tensor:
    t = _EMPTY.get(dtype)
    if t is None:
        t = _EMPTY[dtype] = torch.empty(0, dtype=dtype)
    return t


def _kernel_threads() -> int:
    return int(os.environ.get("EMOVAE_GRU_KT", "1"))


class _GRUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, steps, bf16, use_ext):
        const = steps is not None
        B = x.shape[0]
        T = steps if const else x.shape[1]
        H = w_hh.shape[1]
        sdt = torch.float32 if bf16 else x.dtype
        cdt = torch.bfloat16 if bf16 else x.dtype
        ops = _ext_ops() if (use_ext and sdt == torch.float32) else None
        onednn = _onednn_usable(cdt)
        linear = _linear_fn(onednn)

        # Input projection, once for all steps: (T, B, 3H) time-major, or (B, 3H).
        x2 = x.contiguous() if const else x.transpose(0, 1).reshape(T * B, x.shape[2])
        gi = linear(x2.to(cdt), w_ih.to(cdt), b_ih.to(cdt)).to(sdt).contiguous()
        if not const:
            gi = gi.view(T, B, 3 * H)
        w = _recurrent_weight(w_hh.to(cdt), B, onednn)
        b = b_hh.to(cdt)

        hs = torch.empty(T + 1, B, H, dtype=sdt)
        if h0 is None:
            hs[0].zero_()
        else:
            hs[0].copy_(h0)
        g = torch.empty(T, B, 4 * H, dtype=sdt)
        if bf16:
            hsb = torch.empty(T, B, H, dtype=cdt)
            hsb[0].copy_(hs[0])
        else:
            hsb = _empty(cdt)
        if ops is not None:
            ops.fwd(gi, const, hs, g, hsb, w, b, onednn, _kernel_threads())
        else:
            _py_fwd(gi, const, hs, g, hsb, w, b, linear)

        ctx.save_for_backward(x, h0, w_ih, w_hh, hs, g, hsb)
        ctx.steps = steps
        ctx.bf16 = bf16
        ctx.use_ext = use_ext
        ctx.set_materialize_grads(False)
        return hs[1:].transpose(0, 1), hs[T]

    @staticmethod
    def backward(ctx, grad_out, grad_hT):
        x, h0, w_ih, w_hh, hs, g, hsb = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if grad_out is None and grad_hT is None:
            return (None,) * 9
        const = ctx.steps is not None
        bf16 = ctx.bf16
        T, B, H4 = g.shape
        H = H4 // 4
        sdt = hs.dtype
        cdt = torch.bfloat16 if bf16 else sdt
        ops = _ext_ops() if (ctx.use_ext and sdt == torch.float32) else None
        onednn = _onednn_usable(cdt)
        linear = _linear_fn(onednn)

        # a_t = dL/dh_t, starting from the gradients that reach the outputs.
        if grad_out is not None:
            a = torch.empty(T, B, H, dtype=sdt)
            a.copy_(grad_out.transpose(0, 1))
        else:
            a = torch.zeros(T, B, H, dtype=sdt)
        if grad_hT is not None:
            a[T - 1].add_(grad_hT)
        dgh = torch.empty(T, B, 3 * H, dtype=sdt)
        dghb = torch.empty(T, B, 3 * H, dtype=cdt) if bf16 else _empty(cdt)
        dgin = torch.empty(T, B, H, dtype=sdt)
        w_c = w_hh.to(cdt)
        wt = _recurrent_weight(w_c.t(), B, onednn)  # logical (H, 3H)
        if ops is not None:
            dh0 = ops.bwd(a, g, hs, dgh, dghb, dgin, wt, onednn, _kernel_threads())
        else:
            dh0 = _py_bwd(a, g, hs, dgh, dghb, dgin, wt, linear)

        # Recurrent weight and bias gradients: one product / one sum over all B*T steps.
        TB = T * B
        g_w_hh = g_b_hh = None
        if needs[3]:
            if bf16:
                g_w_hh = torch.mm(dghb.view(TB, 3 * H).t(), hsb.view(TB, H)).to(sdt)
            elif onednn:
                hT = hs[:T].reshape(TB, H).t().contiguous()  # (H, TB)
                g_w_hh = linear(hT, dgh.view(TB, 3 * H).t()).t().contiguous()  # (3H, H)
            else:
                g_w_hh = torch.mm(dgh.view(TB, 3 * H).t(), hs[:T].reshape(TB, H))
        db_hh = dgh.view(TB, 3 * H).sum(0)
        if needs[5]:
            g_b_hh = db_hh

        # Input side: d(W_i x + b_i) = [dgh_r, dgh_z, dgin].
        g_x = g_w_ih = g_b_ih = None
        if const:
            dgi = torch.cat([dgh[..., : 2 * H].sum(0), dgin.sum(0)], 1)  # (B, 3H), summed over t
            if needs[0]:
                g_x = torch.mm(dgi, w_ih)
            if needs[2]:
                g_w_ih = torch.mm(dgi.t(), x)
            if needs[4]:
                g_b_ih = dgi.sum(0)
        else:
            drz = dgh.view(TB, 3 * H)[:, : 2 * H]
            dn = dgin.view(TB, H)
            if needs[0]:
                g_x = torch.addmm(torch.mm(dn, w_ih[2 * H :]), drz, w_ih[: 2 * H])
                g_x = g_x.view(T, B, -1).transpose(0, 1)
            if needs[2]:
                xt = x.transpose(0, 1).reshape(TB, x.shape[2])
                g_w_ih = torch.cat([torch.mm(drz.t(), xt), torch.mm(dn.t(), xt)], 0)
            if needs[4]:
                g_b_ih = torch.cat([db_hh[: 2 * H], dn.sum(0)])
        g_h0 = dh0 if (h0 is not None and needs[1]) else None
        return g_x, g_h0, g_w_ih, g_w_hh, g_b_ih, g_b_hh, None, None, None


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
