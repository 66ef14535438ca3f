// emovae GRU: CPU step loops (forward and backward), each step one matrix product and one
// fused, vectorised pass over the gates.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>
#include <torch/library.h>

#include <algorithm>
#include <optional>
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
#if defined(CPU_CAPABILITY_AVX512)
    if (n == VS) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), at::vec::cvtfp32_bf16(__m512(v)));
      return;
    }
#endif
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

// Forward gates of one step for B rows. gi row: W_i x + b_i; gh row: W_h h + b_h (gate order
// r, z, n). Writes g row [r, z, n, W_hn h + b_hn], the new state hn and its bf16 copy hb.
template <typename GI, typename GH>
void fwd_rows(int64_t B, int64_t H, const GI* gi, const GH* gh, const float* h, float* g,
              float* hn, BFloat16* hb) {
  const Vec one(1.f), two(2.f);
  at::parallel_for(0, B, 4, [&](int64_t i0, int64_t i1) {  // rows split over the threads
  for (int64_t i = i0; i < i1; ++i) {
    const GI* gir = gi + i * 3 * H;
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
  });
}

template <typename GI>
void fwd_loop(const GI* gi_p, bool constant, const Tensor& hs, const Tensor& g, const Tensor& hsb,
              const Tensor& w, const Tensor& b, bool onednn, bool h0_zero) {
  const int64_t T = g.size(0), B = g.size(1), H = hs.size(2);
  const bool bf = hsb.numel() > 0;
  float* hs_p = hs.data_ptr<float>();
  float* g_p = g.data_ptr<float>();
  BFloat16* hb_p = bf ? hsb.data_ptr<BFloat16>() : nullptr;
  const c10::IValue bias(b);
  for (int64_t t = 0; t < T; ++t) {
    // with h_0 = 0 the first product is 0 @ W_h + b_h = b_h exactly: skip it
    const Tensor gh = (t == 0 && h0_zero) ? b.unsqueeze(0).expand({B, b.size(0)}).contiguous()
                                          : linear(bf ? hsb.select(0, t) : hs.select(0, t), w, bias, onednn);
    const GI* git = gi_p + (constant ? 0 : t * B * 3 * H);
    const float* ht = hs_p + t * B * H;
    float* gt = g_p + t * B * 4 * H;
    float* hn = hs_p + (t + 1) * B * H;
    BFloat16* hbt = (bf && t + 1 < T) ? hb_p + (t + 1) * B * H : nullptr;
    if (gh.scalar_type() == at::kBFloat16) {
      fwd_rows(B, H, git, gh.data_ptr<BFloat16>(), ht, gt, hn, hbt);
    } else {
      TORCH_CHECK(gh.scalar_type() == at::kFloat, "emovae gru: unexpected product dtype");
      fwd_rows(B, H, git, gh.data_ptr<float>(), ht, gt, hn, hbt);
    }
  }
}

// gi: (T,B,3H), or (B,3H) for a constant input, float32 or bfloat16; hs: (T+1,B,H), hs[0] set;
// g: (T,B,4H), out; hsb: (T,B,H) bf16 copies of h_0..h_{T-1} (hsb[0] set), or empty;
// w: logical (3H,H), b: (3H,), in the product dtype.
void gru_fwd(const Tensor& gi, bool constant, const Tensor& hs, const Tensor& g, const Tensor& hsb,
             const Tensor& w, const Tensor& b, bool onednn, bool h0_zero) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t T = g.size(0), B = g.size(1), H = hs.size(2);
  TORCH_CHECK(gi.is_contiguous() && hs.is_contiguous() && g.is_contiguous() && hsb.is_contiguous(),
              "emovae gru fwd: buffers must be contiguous");
  TORCH_CHECK(hs.scalar_type() == at::kFloat && g.scalar_type() == at::kFloat,
              "emovae gru fwd: state must be float32");
  TORCH_CHECK(gi.numel() == (constant ? 1 : T) * B * 3 * H && hs.numel() == (T + 1) * B * H &&
              g.numel() == T * B * 4 * H, "emovae gru fwd: buffer sizes");
  TORCH_CHECK(hsb.numel() == 0 || (hsb.scalar_type() == at::kBFloat16 && hsb.numel() == T * B * H),
              "emovae gru fwd: bf16 state copy");
  if (gi.scalar_type() == at::kBFloat16)
    fwd_loop(gi.data_ptr<BFloat16>(), constant, hs, g, hsb, w, b, onednn, h0_zero);
  else {
    TORCH_CHECK(gi.scalar_type() == at::kFloat, "emovae gru fwd: input projection dtype");
    fwd_loop(gi.data_ptr<float>(), constant, hs, g, hsb, w, b, onednn, h0_zero);
  }
}

// Backward gates of one step for B rows. When m is given, first completes the state gradient
// a_t += m + a_{t+1} z_{t+1} (m = d(gh)_{t+1} @ W_h). Then writes dgh = d(W_h h + b_h) =
// [d pre_r, d pre_z, d pre_n * r] (product dtype) and dgi = d(W_i x + b_i) = [d pre_r, d pre_z,
// d pre_n] (float32; added to, for a constant input).
template <typename M, typename DG>
void bwd_rows(int64_t B, int64_t H, float* a, const float* anext, const M* m, const float* gnext,
              const float* g, const float* hp, DG* dgh, float* dgi, bool accumulate) {
  const Vec one(1.f);
  at::parallel_for(0, B, 4, [&](int64_t i0, int64_t i1) {  // rows split over the threads
  for (int64_t i = i0; i < i1; ++i) {
    float* ar = a + i * H;
    const float* gr = g + i * 4 * H;
    DG* dr = dgh + i * 3 * H;
    float* di = dgi + i * 3 * H;
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
      st(dr + j, dr_, n);
      st(dr + H + j, dz, n);
      st(dr + 2 * H + j, dn * r, n);
      if (accumulate) {
        st(di + j, ld(di + j, n) + dr_, n);
        st(di + H + j, ld(di + H + j, n) + dz, n);
        st(di + 2 * H + j, ld(di + 2 * H + j, n) + dn, n);
      } else {
        st(di + j, dr_, n);
        st(di + H + j, dz, n);
        st(di + 2 * H + j, dn, n);
      }
    }
  }
  });
}

template <typename M>
void last_rows(int64_t B, int64_t H, const float* a, const M* m, const float* g, float* out) {
  for (int64_t i = 0; i < B; ++i)
    for (int64_t j = 0; j < H; j += VS) {
      const int64_t n = std::min(VS, H - j);
      st(out + i * H + j, ld(m + i * H + j, n) + ld(a + i * H + j, n) * ld(g + i * 4 * H + H + j, n), n);
    }
}

template <typename DG>
Tensor bwd_loop(const Tensor& a, const Tensor& g, const Tensor& hs, const Tensor& dgh,
                const Tensor& dgi, bool constant, const Tensor& wt, bool onednn, bool need_dh0) {
  const int64_t T = g.size(0), B = g.size(1), H = hs.size(2);
  float* a_p = a.data_ptr<float>();
  const float* g_p = g.data_ptr<float>();
  const float* hs_p = hs.data_ptr<float>();
  DG* dgh_p = dgh.data_ptr<DG>();
  float* dgi_p = dgi.data_ptr<float>();
  const c10::IValue none;
  Tensor m;
  for (int64_t t = T - 1; t >= 0; --t) {
    float* at_ = a_p + t * B * H;
    const float* gt = g_p + t * B * 4 * H;
    const float* hpt = hs_p + t * B * H;
    DG* dght = dgh_p + t * B * 3 * H;
    float* dgit = dgi_p + (constant ? 0 : t * B * 3 * H);
    if (!m.defined())
      bwd_rows<float>(B, H, at_, nullptr, nullptr, nullptr, gt, hpt, dght, dgit, constant);
    else if (m.scalar_type() == at::kBFloat16)
      bwd_rows(B, H, at_, at_ + B * H, m.data_ptr<BFloat16>(), gt + B * 4 * H, gt, hpt, dght, dgit, constant);
    else {
      TORCH_CHECK(m.scalar_type() == at::kFloat, "emovae gru: unexpected product dtype");
      bwd_rows(B, H, at_, at_ + B * H, m.data_ptr<float>(), gt + B * 4 * H, gt, hpt, dght, dgit, constant);
    }
    if (t > 0 || need_dh0) m = linear(dgh.select(0, t), wt, none, onednn);
  }
  if (!need_dh0) return Tensor();
  Tensor dh0 = at::empty({B, H}, hs.options());
  if (m.scalar_type() == at::kBFloat16)
    last_rows(B, H, a_p, m.data_ptr<BFloat16>(), g_p, dh0.data_ptr<float>());
  else
    last_rows(B, H, a_p, m.data_ptr<float>(), g_p, dh0.data_ptr<float>());
  return dh0;
}

// a: (T,B,H), in: the output gradients (plus the h_T gradient at T-1), out: dL/dh_t.
// g, hs: from the forward; dgh: (T,B,3H) in the product dtype, out; dgi: (T,B,3H) float32, out,
// or (B,3H) summed over the steps for a constant input (zeroed by the caller);
// wt: logical (H,3H) (W_h transposed), in the product dtype. Returns dL/dh_0, or None when
// need_dh0 is false (then the last step's product is skipped).
std::optional<Tensor> gru_bwd(const Tensor& a, const Tensor& g, const Tensor& hs, const Tensor& dgh,
                              const Tensor& dgi, bool constant, const Tensor& wt, bool onednn, bool need_dh0) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t T = g.size(0), B = g.size(1), H = hs.size(2);
  TORCH_CHECK(a.is_contiguous() && g.is_contiguous() && hs.is_contiguous() && dgh.is_contiguous() &&
              dgi.is_contiguous(), "emovae gru bwd: buffers must be contiguous");
  TORCH_CHECK(a.scalar_type() == at::kFloat && g.scalar_type() == at::kFloat &&
              hs.scalar_type() == at::kFloat && dgi.scalar_type() == at::kFloat,
              "emovae gru bwd: state must be float32");
  TORCH_CHECK(a.numel() == T * B * H && hs.numel() == (T + 1) * B * H && dgh.numel() == T * B * 3 * H &&
              dgi.numel() == (constant ? 1 : T) * B * 3 * H, "emovae gru bwd: buffer sizes");
  TORCH_CHECK(dgh.scalar_type() == at::kBFloat16 || dgh.scalar_type() == at::kFloat,
              "emovae gru bwd: gate gradient dtype");
  const Tensor dh0 = dgh.scalar_type() == at::kBFloat16
                         ? bwd_loop<BFloat16>(a, g, hs, dgh, dgi, constant, wt, onednn, need_dh0)
                         : bwd_loop<float>(a, g, hs, dgh, dgi, constant, wt, onednn, need_dh0);
  if (!dh0.defined()) return std::nullopt;  // dL/dh_0 not wanted
  return dh0;
}

// out (C, R) = src (R, C) transposed, float32 -> float32 or bfloat16; 16 x 16 blocks.
template <typename TO>
void transpose_blocks(const float* src, int64_t R, int64_t C, TO* dst) {
  const int64_t nb = (R + 15) / 16;
  at::parallel_for(0, nb, 8, [&](int64_t b0, int64_t b1) {
    alignas(64) float buf[16 * 16];
    for (int64_t bi = b0; bi < b1; ++bi) {
      const int64_t i0 = bi * 16, m = std::min<int64_t>(16, R - i0);
      for (int64_t j0 = 0; j0 < C; j0 += 16) {
        const int64_t n = std::min<int64_t>(16, C - j0);
        if constexpr (std::is_same_v<TO, float>) {
          at::vec::transpose_mxn<float>(src + i0 * C + j0, C, dst + j0 * R + i0, R, (int)m, (int)n);
        } else {
          at::vec::transpose_mxn<float>(src + i0 * C + j0, C, buf, 16, (int)m, (int)n);
          for (int64_t k = 0; k < n; ++k)
            for (int64_t c = 0; c < m; c += VS) {
              const int64_t len = std::min<int64_t>(VS, m - c);
              st(dst + (j0 + k) * R + i0 + c, Vec::loadu(buf + k * 16 + c, len), len);
            }
        }
      }
    }
  });
}

void transpose_into(const Tensor& src, const Tensor& out) {
  TORCH_CHECK(src.dim() == 2 && out.dim() == 2 && src.is_contiguous() && out.is_contiguous() &&
              src.scalar_type() == at::kFloat && out.size(0) == src.size(1) && out.size(1) == src.size(0),
              "emovae gru transpose: bad arguments");
  if (out.scalar_type() == at::kBFloat16)
    transpose_blocks(src.data_ptr<float>(), src.size(0), src.size(1), out.data_ptr<BFloat16>());
  else {
    TORCH_CHECK(out.scalar_type() == at::kFloat, "emovae gru transpose: output dtype");
    transpose_blocks(src.data_ptr<float>(), src.size(0), src.size(1), out.data_ptr<float>());
  }
}
}  // namespace

TORCH_LIBRARY(EMOVAE_NS, mod) {
  mod.def("transpose(Tensor src, Tensor out) -> ()", &transpose_into);
  mod.def("fwd(Tensor gi, bool constant, Tensor hs, Tensor g, Tensor hsb, Tensor w, Tensor b, bool onednn, bool h0_zero) -> ()", &gru_fwd);
  mod.def("bwd(Tensor a, Tensor g, Tensor hs, Tensor dgh, Tensor dgi, bool constant, Tensor wt, bool onednn, bool need_dh0) -> Tensor?", &gru_bwd);
}
