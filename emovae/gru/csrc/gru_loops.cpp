// emovae GRU: CPU step loops (forward and backward), each step one matrix product and one
// fused, vectorised pass over the gates; and the fused inference decoder (decode_fused, below).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#if defined(CPU_CAPABILITY_AVX512)
#include <immintrin.h>
#endif

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
// r, z, n). Writes g row [r, z, n, W_hn h + b_hn] (unless g is null: inference), the new state hn
// and its bf16 copy hb.
template <typename GI, typename GH>
void fwd_rows(int64_t B, int64_t H, const GI* gi, const GH* gh, const float* h, float* g,
              float* hn, BFloat16* hb) {
  const Vec one(1.f), two(2.f);
  at::parallel_for(0, B, 4, [&](int64_t i0, int64_t i1) {  // rows split over the threads
  for (int64_t i = i0; i < i1; ++i) {
    const GI* gir = gi + i * 3 * H;
    const GH* ghr = gh + i * 3 * H;
    float* gr = g ? g + i * 4 * H : nullptr;
    for (int64_t j = 0; j < H; j += VS) {
      const int64_t n = std::min(VS, H - j);
      const Vec r = sigm(ld(gir + j, n) + ld(ghr + j, n));
      const Vec z = sigm(ld(gir + H + j, n) + ld(ghr + H + j, n));
      const Vec ghn = ld(ghr + 2 * H + j, n);
      const Vec a = ld(gir + 2 * H + j, n) + r * ghn;
      const Vec nn = two * sigm(a + a) - one;  // tanh(a)
      const Vec hp = ld(h + i * H + j, n);
      const Vec out = nn + z * (hp - nn);
      if (gr) {
        st(gr + j, r, n);
        st(gr + H + j, z, n);
        st(gr + 2 * H + j, nn, n);
        st(gr + 3 * H + j, ghn, n);
      }
      st(hn + i * H + j, out, n);
      if (hb) st(hb + i * H + j, out, n);
    }
  }
  });
}

template <typename GI>
void fwd_loop(const GI* gi_p, bool constant, const Tensor& hs, const Tensor& g, const Tensor& hsb,
              const Tensor& w, const Tensor& b, bool onednn, bool h0_zero) {
  const int64_t T = hs.size(0) - 1, B = hs.size(1), H = hs.size(2);
  const bool bf = hsb.numel() > 0;
  float* hs_p = hs.data_ptr<float>();
  float* g_p = g.numel() > 0 ? g.data_ptr<float>() : nullptr;  // empty: inference, gates not kept
  BFloat16* hb_p = bf ? hsb.data_ptr<BFloat16>() : nullptr;
  const c10::IValue bias(b);
  for (int64_t t = 0; t < T; ++t) {
    // with h_0 = 0 the first product is 0 @ W_h + b_h = b_h exactly: skip it
    const Tensor gh = (t == 0 && h0_zero) ? b.unsqueeze(0).expand({B, b.size(0)}).contiguous()
                                          : linear(bf ? hsb.select(0, t) : hs.select(0, t), w, bias, onednn);
    const GI* git = gi_p + (constant ? 0 : t * B * 3 * H);
    const float* ht = hs_p + t * B * H;
    float* gt = g_p ? g_p + t * B * 4 * H : nullptr;
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
// g: (T,B,4H), out, or empty (inference: the gates are not kept); hsb: (T,B,H) bf16 copies of
// h_0..h_{T-1} (hsb[0] set), or empty; w: logical (3H,H), b: (3H,), in the product dtype.
void gru_fwd(const Tensor& gi, bool constant, const Tensor& hs, const Tensor& g, const Tensor& hsb,
             const Tensor& w, const Tensor& b, bool onednn, bool h0_zero) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t T = hs.size(0) - 1, B = hs.size(1), H = hs.size(2);
  TORCH_CHECK(gi.is_contiguous() && hs.is_contiguous() && g.is_contiguous() && hsb.is_contiguous(),
              "emovae gru fwd: buffers must be contiguous");
  TORCH_CHECK(hs.scalar_type() == at::kFloat && g.scalar_type() == at::kFloat,
              "emovae gru fwd: state must be float32");
  TORCH_CHECK(gi.numel() == (constant ? 1 : T) * B * 3 * H && hs.numel() == (T + 1) * B * H &&
              (g.numel() == 0 || g.numel() == T * B * 4 * H), "emovae gru fwd: buffer sizes");
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

// -------------------------------------------------------------------------------------------------
// Fused inference decoding: a constant input, h_0 = 0, no autograd. Each thread takes blocks of rows
// and runs all T steps on them (no barrier between steps); per step and block: the recurrent product
// as a register-tiled micro-kernel over panels of 16 hidden units x 3 gates (gate r, z, n of the same
// units side by side), the gates right on the tile (nothing stored but the new state), then the
// output projection of the new state into logits (B, T, V). AVX-512 builds only.
//
// Products: fp32 (FMA), or, from step k0 on, 16-bit fixed point (AVX512-VNNI vpdpwssd):
// h_q = round(h * qscale) (|h| < 1), W_q = round(W * s_w) per output column; int32 sums over
// `chunk` inputs at a time (the caller picks s_w so that no chunk can leave int32), then added up
// in float32 and scaled by inv = 1 / (qscale * s_w).
constexpr int64_t UB = 16;   // hidden units per panel
#if defined(CPU_CAPABILITY_AVX512)
constexpr int64_t MR32 = 8;  // rows per fp32 tile
constexpr int64_t MR16 = 4;  // rows per int16 tile
constexpr int64_t MRO = 8;   // rows per output-projection tile

// sigmoid(x) = 1 / (1 + e^-x) to about 2 ulp: e^y = 2^n 2^f (n = round(y log2 e), |f| <= 1/2, 2^f by
// its degree-6 Taylor polynomial, relative error < 2e-7), the reciprocal by rcp14 and one Newton
// step; x is clamped to [-80, 80] (1 + e^-x stays finite and normal; sigmoid(80) is 1 in float).
inline __m512 sigm_fast(__m512 x) {
  const __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-80.f)), _mm512_set1_ps(80.f));
  const __m512 y = _mm512_mul_ps(xc, _mm512_set1_ps(-1.44269504088896341f));
  const __m512 n = _mm512_roundscale_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(y, n);
  __m512 p = _mm512_set1_ps(1.5403530393381606e-4f);                       // (ln 2)^6 / 6!
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3333558146428443e-3f));      // (ln 2)^5 / 5!
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6181291076284772e-3f));      // (ln 2)^4 / 4!
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504108664821580e-2f));      // (ln 2)^3 / 3!
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022650695910071e-1f));      // (ln 2)^2 / 2!
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718055994531e-1f));      // ln 2
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.f));
  const __m512 d = _mm512_add_ps(_mm512_set1_ps(1.f), _mm512_scalef_ps(p, n));  // 1 + e^-x
  const __m512 r = _mm512_rcp14_ps(d);
  return _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.f)));    // r (2 - d r)
}

// New state of one row for 16 units, from gh = W_h h + b_h (gates r, z, n); the arithmetic of
// fwd_rows with sigm_fast.
inline void gate_row(const __m512 ghr, const __m512 ghz, const __m512 ghn, const float* gi, int64_t H,
                     const float* hp, float* hn, int16_t* hq, float qscale) {
  const __m512 one = _mm512_set1_ps(1.f), two = _mm512_set1_ps(2.f);
  const __m512 r = sigm_fast(_mm512_add_ps(_mm512_loadu_ps(gi), ghr));
  const __m512 z = sigm_fast(_mm512_add_ps(_mm512_loadu_ps(gi + H), ghz));
  const __m512 a = _mm512_fmadd_ps(r, ghn, _mm512_loadu_ps(gi + 2 * H));
  const __m512 nn = _mm512_fmsub_ps(two, sigm_fast(_mm512_add_ps(a, a)), one);  // tanh(a)
  const __m512 out = _mm512_fmadd_ps(z, _mm512_sub_ps(_mm512_loadu_ps(hp), nn), nn);
  _mm512_storeu_ps(hn, out);
  if (hq) {
    const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(out, _mm512_set1_ps(qscale)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(hq), _mm512_cvtsepi32_epi16(q));
  }
}

// acc (MR32, 48) = h rows (MR32, H) @ panel (H, 48); a separate function keeps the 24 sums in registers.
__attribute__((noinline)) void mk_f32(const float* __restrict hr, int64_t H, const float* __restrict panel,
                                      float* __restrict acc_out) {
  __m512 acc[MR32][3];
  for (int m = 0; m < MR32; ++m) acc[m][0] = acc[m][1] = acc[m][2] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t k = 0; k < H; ++k) {
    const __m512 b0 = _mm512_loadu_ps(panel + k * 48);
    const __m512 b1 = _mm512_loadu_ps(panel + k * 48 + 16);
    const __m512 b2 = _mm512_loadu_ps(panel + k * 48 + 32);
#pragma GCC unroll 8
    for (int m = 0; m < MR32; ++m) {
      const __m512 a = _mm512_set1_ps(hr[m * H + k]);
      acc[m][0] = _mm512_fmadd_ps(a, b0, acc[m][0]);
      acc[m][1] = _mm512_fmadd_ps(a, b1, acc[m][1]);
      acc[m][2] = _mm512_fmadd_ps(a, b2, acc[m][2]);
    }
  }
  for (int m = 0; m < MR32; ++m)
    for (int v = 0; v < 3; ++v) _mm512_storeu_ps(acc_out + m * 48 + v * 16, acc[m][v]);
}

// One fp32 step for rp rows (a multiple of MR32): h (rp, H) -> hn (rp, H) (and hq, its int16 copy).
// wp: (H/16, H, 48) panels; zero_h: h is 0, the product is skipped (gh = b_h exactly).
void step_f32(int64_t rp, int64_t H, const float* h, float* hn, int16_t* hq, const float* gi,
              const float* wp, const float* b, bool zero_h, float qscale) {
  const int64_t NB = H / UB, G = 3 * H;
  alignas(64) float acc[MR32 * 48];
  if (zero_h) std::fill(acc, acc + MR32 * 48, 0.f);
  for (int64_t jb = 0; jb < NB; ++jb) {
    const float* panel = wp + jb * H * 48;
    const int64_t j = jb * UB;
    const __m512 br = _mm512_loadu_ps(b + j), bz = _mm512_loadu_ps(b + H + j), bn = _mm512_loadu_ps(b + 2 * H + j);
    for (int64_t m0 = 0; m0 < rp; m0 += MR32) {
      if (!zero_h) mk_f32(h + m0 * H, H, panel, acc);
      for (int m = 0; m < MR32; ++m) {
        const int64_t row = m0 + m;
        const float* a = acc + m * 48;
        gate_row(_mm512_add_ps(_mm512_loadu_ps(a), br), _mm512_add_ps(_mm512_loadu_ps(a + 16), bz),
                 _mm512_add_ps(_mm512_loadu_ps(a + 32), bn), gi + row * G + j, H, h + row * H + j,
                 hn + row * H + j, hq ? hq + row * H + j : nullptr, qscale);
      }
    }
  }
}

// acc (MR16, 48) = hq rows (MR16, H) @ panel (H/2 pairs, 48, 2): int32 sums over chunks of 2 * FL
// inputs, added up in float32. A separate function keeps the 12 + 12 sums in registers.
__attribute__((noinline, target("avx512vnni"))) void mk_i16(const int16_t* __restrict hr, int64_t H,
                                                            const int16_t* __restrict panel, int64_t FL,
                                                            float* __restrict acc_out) {
  const int64_t P = H / 2;
  __m512 facc[MR16][3];
  for (int m = 0; m < MR16; ++m) facc[m][0] = facc[m][1] = facc[m][2] = _mm512_setzero_ps();
  for (int64_t p0 = 0; p0 < P; p0 += FL) {
    __m512i acc[MR16][3];
    for (int m = 0; m < MR16; ++m) acc[m][0] = acc[m][1] = acc[m][2] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int64_t p = p0; p < p0 + FL; ++p) {
      const __m512i b0 = _mm512_loadu_si512(panel + p * 96);
      const __m512i b1 = _mm512_loadu_si512(panel + p * 96 + 32);
      const __m512i b2 = _mm512_loadu_si512(panel + p * 96 + 64);
#pragma GCC unroll 4
      for (int m = 0; m < MR16; ++m) {
        int32_t pair;
        std::memcpy(&pair, hr + m * H + 2 * p, sizeof(pair));
        const __m512i a = _mm512_set1_epi32(pair);
        acc[m][0] = _mm512_dpwssd_epi32(acc[m][0], a, b0);
        acc[m][1] = _mm512_dpwssd_epi32(acc[m][1], a, b1);
        acc[m][2] = _mm512_dpwssd_epi32(acc[m][2], a, b2);
      }
    }
    for (int m = 0; m < MR16; ++m)
      for (int v = 0; v < 3; ++v) facc[m][v] = _mm512_add_ps(facc[m][v], _mm512_cvtepi32_ps(acc[m][v]));
  }
  for (int m = 0; m < MR16; ++m)
    for (int v = 0; v < 3; ++v) _mm512_storeu_ps(acc_out + m * 48 + v * 16, facc[m][v]);
}

// One 16-bit fixed-point step for rp rows (a multiple of MR16): hq (rp, H) int16 -> hn, hqn.
// wq: (H/16, H/2, 48, 2) panels; inv: (3H,) 1 / (qscale * s_w); chunk: inputs per int32 sum.
__attribute__((target("avx512vnni")))
void step_i16(int64_t rp, int64_t H, const int16_t* hq, const float* h, float* hn, int16_t* hqn,
              const float* gi, const int16_t* wq, const float* inv, const float* b, int64_t chunk, float qscale) {
  const int64_t NB = H / UB, G = 3 * H, P = H / 2;
  alignas(64) float acc[MR16 * 48];
  for (int64_t jb = 0; jb < NB; ++jb) {
    const int16_t* panel = wq + jb * P * 96;
    const int64_t j = jb * UB;
    const __m512 br = _mm512_loadu_ps(b + j), bz = _mm512_loadu_ps(b + H + j), bn = _mm512_loadu_ps(b + 2 * H + j);
    const __m512 ir = _mm512_loadu_ps(inv + j), iz = _mm512_loadu_ps(inv + H + j);
    const __m512 in = _mm512_loadu_ps(inv + 2 * H + j);
    for (int64_t m0 = 0; m0 < rp; m0 += MR16) {
      mk_i16(hq + m0 * H, H, panel, chunk / 2, acc);
      for (int m = 0; m < MR16; ++m) {
        const int64_t row = m0 + m;
        const float* a = acc + m * 48;
        gate_row(_mm512_fmadd_ps(_mm512_loadu_ps(a), ir, br), _mm512_fmadd_ps(_mm512_loadu_ps(a + 16), iz, bz),
                 _mm512_fmadd_ps(_mm512_loadu_ps(a + 32), in, bn), gi + row * G + j, H, h + row * H + j,
                 hn + row * H + j, hqn ? hqn + row * H + j : nullptr, qscale);
      }
    }
  }
}

// acc (MRO, 32) = bias + h rows (MRO, H) @ wo[:, v0:v0+32] (the second half only when two).
__attribute__((noinline)) void mk_out(const float* __restrict hr, int64_t H, const float* __restrict wo, int64_t Vp,
                                      const float* __restrict bo, bool two, float* __restrict acc_out) {
  __m512 acc[MRO][2];
  const __m512 c0 = _mm512_loadu_ps(bo), c1 = two ? _mm512_loadu_ps(bo + 16) : _mm512_setzero_ps();
  for (int m = 0; m < MRO; ++m) { acc[m][0] = c0; acc[m][1] = c1; }
  if (two) {
#pragma GCC unroll 2
    for (int64_t k = 0; k < H; ++k) {
      const __m512 w0 = _mm512_loadu_ps(wo + k * Vp), w1 = _mm512_loadu_ps(wo + k * Vp + 16);
#pragma GCC unroll 8
      for (int m = 0; m < MRO; ++m) {
        const __m512 a = _mm512_set1_ps(hr[m * H + k]);
        acc[m][0] = _mm512_fmadd_ps(a, w0, acc[m][0]);
        acc[m][1] = _mm512_fmadd_ps(a, w1, acc[m][1]);
      }
    }
  } else {
#pragma GCC unroll 2
    for (int64_t k = 0; k < H; ++k) {
      const __m512 w0 = _mm512_loadu_ps(wo + k * Vp);
#pragma GCC unroll 8
      for (int m = 0; m < MRO; ++m) acc[m][0] = _mm512_fmadd_ps(_mm512_set1_ps(hr[m * H + k]), w0, acc[m][0]);
    }
  }
  for (int m = 0; m < MRO; ++m) {
    _mm512_storeu_ps(acc_out + m * 32, acc[m][0]);
    _mm512_storeu_ps(acc_out + m * 32 + 16, acc[m][1]);
  }
}

// logits[row * ld + v] = h[row] . wo[:, v] + bo[v] for the first `rows` rows (rp padded, a multiple
// of MRO) and v < V; wo: (H, Vp) (the output weight transposed, columns padded to Vp, a multiple of 16).
void out_proj(int64_t rows, int64_t rp, int64_t H, const float* h, const float* wo, const float* bo,
              int64_t V, int64_t Vp, float* logits, int64_t ld) {
  alignas(64) float acc[MRO * 32];
  for (int64_t m0 = 0; m0 < rp; m0 += MRO) {
    for (int64_t v0 = 0; v0 < Vp; v0 += 32) {
      mk_out(h + m0 * H, H, wo + v0, Vp, bo + v0, Vp - v0 > 16, acc);
      const int64_t n = std::min<int64_t>(V - v0, 32);
      for (int m = 0; m < MRO && m0 + m < rows; ++m)
        std::memcpy(logits + (m0 + m) * ld + v0, acc + m * 32, n * sizeof(float));
    }
  }
}

bool has_vnni() {
  static const bool ok = __builtin_cpu_supports("avx512vnni");
  return ok;
}

__attribute__((target("avx512vnni")))
void step_i16_dispatch(int64_t rp, int64_t H, const int16_t* hq, const float* h, float* hn, int16_t* hqn,
                       const float* gi, const int16_t* wq, const float* inv, const float* b, int64_t chunk,
                       float qscale) {
  step_i16(rp, H, hq, h, hn, hqn, gi, wq, inv, b, chunk, qscale);
}
#endif  // CPU_CAPABILITY_AVX512

// What the fused decoder can do in this build on this CPU: bit 0 fp32, bit 1 int16 (VNNI).
int64_t decode_caps() {
#if defined(CPU_CAPABILITY_AVX512)
  return 1 | (has_vnni() ? 2 : 0);
#else
  return 0;
#endif
}

// x: (B, I) the constant input; wi: (I, 3H) W_i transposed; bi: (3H,) b_i; w32: (H/16, H, 48) fp32
// panels; b: (3H,) b_h; w16: (H/16, H/2, 48, 2) int16 panels or empty; inv: (3H,) or empty; qscale:
// h_q = round(h * qscale); k0: the first step whose product is int16 (>= T: none); chunk: inputs per
// int32 sum; wo: (H, Vp) output weight transposed, zero-padded; bo: (Vp,); logits: (B, T, V) out;
// block: rows per block. Every row's result depends on that row only (not on B or the threads).
void decode_fused(const Tensor& x, const Tensor& wi, const Tensor& bi, const Tensor& w32, const Tensor& b,
                  const Tensor& w16, const Tensor& inv, double qscale, int64_t k0, int64_t chunk,
                  const Tensor& wo, const Tensor& bo, const Tensor& logits, int64_t block) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t B = x.size(0), I = x.size(1), G = b.numel(), H = G / 3, T = logits.size(1), V = logits.size(2);
  const int64_t Vp = wo.size(1);
  TORCH_CHECK(decode_caps() & 1, "emovae gru decode: not available in this build");
  TORCH_CHECK(x.is_contiguous() && wi.is_contiguous() && bi.is_contiguous() && w32.is_contiguous() &&
              b.is_contiguous() && wo.is_contiguous() && bo.is_contiguous() && logits.is_contiguous() &&
              w16.is_contiguous() && inv.is_contiguous(), "emovae gru decode: buffers must be contiguous");
  TORCH_CHECK(x.scalar_type() == at::kFloat && wi.scalar_type() == at::kFloat && bi.scalar_type() == at::kFloat &&
              w32.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat && wo.scalar_type() == at::kFloat &&
              bo.scalar_type() == at::kFloat && logits.scalar_type() == at::kFloat,
              "emovae gru decode: float32 tensors expected");
  TORCH_CHECK(x.dim() == 2 && wi.numel() == I * G && bi.numel() == G, "emovae gru decode: input sizes");
  TORCH_CHECK(G == 3 * H && H % UB == 0 && w32.numel() == G * H && logits.size(0) == B &&
              wo.size(0) == H && Vp % 16 == 0 && Vp >= V && bo.numel() == Vp && block > 0 && T > 0,
              "emovae gru decode: sizes");
  const bool q = k0 < T;
  if (q) {
    TORCH_CHECK(decode_caps() & 2, "emovae gru decode: int16 products need AVX512-VNNI");
    TORCH_CHECK(w16.scalar_type() == at::kShort && w16.numel() == G * H && inv.scalar_type() == at::kFloat &&
                inv.numel() == G && chunk >= 2 && chunk % 2 == 0 && H % chunk == 0,
                "emovae gru decode: int16 weights");
  }
#if defined(CPU_CAPABILITY_AVX512)
  const float* x_p = x.data_ptr<float>();
  const float* wi_p = wi.data_ptr<float>();
  const float* bi_p = bi.data_ptr<float>();
  const float* w32_p = w32.data_ptr<float>();
  const float* b_p = b.data_ptr<float>();
  const int16_t* w16_p = q ? w16.data_ptr<int16_t>() : nullptr;
  const float* inv_p = q ? inv.data_ptr<float>() : nullptr;
  const float* wo_p = wo.data_ptr<float>();
  const float* bo_p = bo.data_ptr<float>();
  float* lg = logits.data_ptr<float>();
  const float qs = static_cast<float>(qscale);
  // blocks of `block` rows (a multiple of MR32), smaller for a small batch so that every thread gets one
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t MB = std::min((block + MR32 - 1) / MR32 * MR32, ((B + threads - 1) / threads + MR32 - 1) / MR32 * MR32);
  const int64_t nblk = (B + MB - 1) / MB;
  // Threads: torch's intra-op count; plain std::threads (at::parallel_for is serial in an extension
  // built without OpenMP). Each takes blocks of rows off a shared counter until none is left.
  const int64_t nt = std::min(threads, nblk);
  std::vector<std::vector<float>> gibs(nt, std::vector<float>(MB * G)), hbs(nt, std::vector<float>(2 * MB * H));
  std::vector<std::vector<int16_t>> qbs(nt, std::vector<int16_t>(q ? 2 * MB * H : 0));
  std::atomic<int64_t> next{0};
  auto work = [&](int64_t s) {
    // per-thread work space: the block's input projection, two states and their int16 copies
    std::vector<float>& gib = gibs[s];
    std::vector<float>& hb = hbs[s];
    std::vector<int16_t>& qb = qbs[s];
    for (int64_t blk; (blk = next.fetch_add(1)) < nblk;) {
      const int64_t r0 = blk * MB, rows = std::min(MB, B - r0);
      const int64_t rp = (rows + MR32 - 1) / MR32 * MR32;
      // the input projection W_i x + b_i of each row, in a fixed order
      for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x_p + (r0 + r) * I;
        float* gr = gib.data() + r * G;
        for (int64_t c = 0; c < G; c += UB) {
          __m512 acc = _mm512_loadu_ps(bi_p + c);
          for (int64_t i = 0; i < I; ++i)
            acc = _mm512_fmadd_ps(_mm512_set1_ps(xr[i]), _mm512_loadu_ps(wi_p + i * G + c), acc);
          _mm512_storeu_ps(gr + c, acc);
        }
      }
      std::fill(gib.begin() + rows * G, gib.begin() + rp * G, 0.f);
      std::fill(hb.begin(), hb.begin() + rp * H, 0.f);
      for (int64_t t = 0; t < T; ++t) {
        const float* hc = hb.data() + (t & 1) * MB * H;
        float* hn = hb.data() + ((t + 1) & 1) * MB * H;
        const int16_t* qc = q ? qb.data() + (t & 1) * MB * H : nullptr;
        int16_t* qn = (q && t + 1 >= k0) ? qb.data() + ((t + 1) & 1) * MB * H : nullptr;
        if (t > 0 && q && t >= k0)
          step_i16_dispatch(rp, H, qc, hc, hn, qn, gib.data(), w16_p, inv_p, b_p, chunk, qs);
        else
          step_f32(rp, H, hc, hn, qn, gib.data(), w32_p, b_p, t == 0, qs);
        out_proj(rows, rp, H, hn, wo_p, bo_p, V, Vp, lg + (r0 * T + t) * V, T * V);
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(nt - 1);
  for (int64_t s = 1; s < nt; ++s) pool.emplace_back(work, s);
  work(0);
  for (auto& th : pool) th.join();
#else
  (void)qscale; (void)chunk; (void)block;
#endif
}

// -------------------------------------------------------------------------------------------------
// Tiled training loops (fp32, AVX-512 builds): the forward and backward recurrences with each step's
// product as register-tiled micro-kernels and the gate arithmetic right on the tile, instead of one
// oneDNN call plus one gate pass per step. Rows are independent in both recurrences, so each thread
// takes an even share of the rows (in tiles of MRT) and runs every step on them with no barrier; per
// step it walks the weight panels once, each panel serving all of the thread's tiles while in cache.
// The same buffers (hs, g, dgh, dgi) and the same gate arithmetic as fwd_rows / bwd_rows (sigmoid by
// sigm_fast); the products sum in another order. A row's results depend on that row only, not on
// the batch size or the number of threads.
constexpr int64_t MRT = 8;  // rows per tile
constexpr int64_t PW = 48;  // columns of W_h per backward panel (the last one 16 or 32), read in place

inline int64_t bwd_width(int64_t H, int64_t p) { return std::min<int64_t>(PW, H - PW * p); }

// Whether a tiled loop over B rows splits each step's columns among the threads (with a barrier
// per step) rather than the rows: when a thread would get fewer than 4 rows (the last batch of an
// epoch, a short melody), every thread would stream all of W_h for a tile of a few rows, whose
// products wait on the FMA latency. Either way each row's results are computed alike.
bool split_columns(int64_t B) {
  const int64_t threads = at::get_num_threads();
  return threads > 1 && B < 4 * threads && !at::in_parallel_region();
}

// Whether the tiled loops run in this build for hidden size H (AVX-512, H a multiple of 16).
bool tiled_ok(int64_t H) {
#if defined(CPU_CAPABILITY_AVX512)
  return H > 0 && H % 16 == 0;
#else
  (void)H;
  return false;
#endif
}

int64_t tiled_caps() { return tiled_ok(16) ? 1 : 0; }

void check_wh(const Tensor& w, const char* what) {
  TORCH_CHECK(w.dim() == 2 && w.scalar_type() == at::kFloat && w.size(0) == 3 * w.size(1) && w.size(1) % 16 == 0,
              "emovae gru ", what, ": W_h must be float32 (3H, H) with H a multiple of 16");
}

// Forward panels from W_h (3H, H) into out (3H H values): (H/16, H, 48), out[jb, k, 16 g + c] =
// W_h[g H + 16 jb + c, k].
void pack_fwd(const Tensor& w, const Tensor& out) {
  check_wh(w, "pack_fwd");
  const Tensor wc = w.contiguous();
  const int64_t H = w.size(1), NB = H / 16;
  TORCH_CHECK(out.is_contiguous() && out.scalar_type() == at::kFloat && out.numel() == w.numel(),
              "emovae gru pack_fwd: out must be float32 with 3H H values");
  const float* src = wc.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  at::parallel_for(0, NB, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t jb = b0; jb < b1; ++jb)
      for (int64_t g = 0; g < 3; ++g)
        for (int64_t k0 = 0; k0 < H; k0 += 16)  // 16 x 16 blocks, transposed in registers
          at::vec::transpose_mxn<float>(src + (g * H + jb * 16) * H + k0, H, dst + (jb * H + k0) * 48 + g * 16, 48,
                                        16, 16);
  });
}

#if defined(CPU_CAPABILITY_AVX512)
// out (R, 16 NV) = A (R rows, row stride lda, K columns) @ P (K rows, row stride ldp, 16 NV columns).
template <int R, int NV>
__attribute__((noinline)) void mk_tile(const float* __restrict A, int64_t lda, int64_t K,
                                       const float* __restrict P, int64_t ldp, float* __restrict out) {
  __m512 acc[R][NV];
#pragma GCC unroll 8
  for (int m = 0; m < R; ++m)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t k = 0; k < K; ++k) {
    __m512 b[NV];
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_ps(P + k * ldp + 16 * v);
#pragma GCC unroll 8
    for (int m = 0; m < R; ++m) {
      const __m512 a = _mm512_set1_ps(A[m * lda + k]);
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_fmadd_ps(a, b[v], acc[m][v]);
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < R; ++m)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(out + m * 16 * NV + 16 * v, acc[m][v]);
}

template <int NV>
void mk_rows(int64_t R, const float* A, int64_t lda, int64_t K, const float* P, int64_t ldp, float* out) {
  switch (R) {
    case 8: mk_tile<8, NV>(A, lda, K, P, ldp, out); break;
    case 7: mk_tile<7, NV>(A, lda, K, P, ldp, out); break;
    case 6: mk_tile<6, NV>(A, lda, K, P, ldp, out); break;
    case 5: mk_tile<5, NV>(A, lda, K, P, ldp, out); break;
    case 4: mk_tile<4, NV>(A, lda, K, P, ldp, out); break;
    case 3: mk_tile<3, NV>(A, lda, K, P, ldp, out); break;
    case 2: mk_tile<2, NV>(A, lda, K, P, ldp, out); break;
    default: mk_tile<1, NV>(A, lda, K, P, ldp, out); break;
  }
}

inline void mk_any(int64_t R, int64_t NV, const float* A, int64_t lda, int64_t K, const float* P, int64_t ldp,
                   float* out) {
  if (NV == 3) mk_rows<3>(R, A, lda, K, P, ldp, out);
  else if (NV == 2) mk_rows<2>(R, A, lda, K, P, ldp, out);
  else mk_rows<1>(R, A, lda, K, P, ldp, out);
}
#endif  // CPU_CAPABILITY_AVX512

#if defined(CPU_CAPABILITY_AVX512)
// out (8 rows, stride ldo; 16 NV columns) = A^T @ P over K: A (K rows, stride lda; 8 columns read),
// P (K rows, stride ldp; 16 NV columns). For dW_h: A = d(gh) rows, P = h rows, both in their own layout.
template <int NV>
__attribute__((noinline)) void mk_tile_at(const float* __restrict A, int64_t lda, int64_t K,
                                          const float* __restrict P, int64_t ldp, float* __restrict out,
                                          int64_t ldo) {
  __m512 acc[8][NV];
#pragma GCC unroll 8
  for (int m = 0; m < 8; ++m)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t k = 0; k < K; ++k) {
    __m512 b[NV];
    // A's rows lie 3H floats apart, more than a page: the hardware prefetcher does not follow them
    _mm_prefetch(reinterpret_cast<const char*>(A + (k + 16) * lda), _MM_HINT_T0);
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_ps(P + k * ldp + 16 * v);
#pragma GCC unroll 8
    for (int m = 0; m < 8; ++m) {
      const __m512 a = _mm512_set1_ps(A[k * lda + m]);
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_fmadd_ps(a, b[v], acc[m][v]);
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < 8; ++m)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(out + m * ldo + 16 * v, acc[m][v]);
}
#endif

// The recurrent weight's gradient from the backward's buffers as they lie, with no transposes:
// out (3H, H) = sum over the rows k >= k0 of dgh (T B, 3H) and h (T B, H): dgh[k]^T h[k] (out =
// dgh^T h). k0 = B skips step 0 when h_0 = 0 (its rows add nothing). Each thread takes a share of
// out's rows; per panel of 48 columns (h's panel stays in L2), 8 x 48 register tiles over all k.
void dw_tiled(const Tensor& dgh, const Tensor& h, int64_t k0, const Tensor& out) {
  at::AutoDispatchBelowADInplaceOrView guard;
  TORCH_CHECK(dgh.dim() == 2 && h.dim() == 2 && out.dim() == 2 && dgh.size(0) == h.size(0) &&
              dgh.size(1) == 3 * h.size(1) && out.size(0) == dgh.size(1) && out.size(1) == h.size(1) &&
              tiled_ok(h.size(1)) && k0 >= 0 && k0 <= h.size(0),
              "emovae gru dw_tiled: dgh (N, 3H), h (N, H), out (3H, H), H a multiple of 16, 0 <= k0 <= N");
  TORCH_CHECK(dgh.is_contiguous() && h.is_contiguous() && out.is_contiguous() && dgh.scalar_type() == at::kFloat &&
              h.scalar_type() == at::kFloat && out.scalar_type() == at::kFloat,
              "emovae gru dw_tiled: contiguous float32 tensors expected");
#if defined(CPU_CAPABILITY_AVX512)
  const int64_t N = h.size(0), H = h.size(1), G = 3 * H, K = N - k0;
  const float* a_p = dgh.data_ptr<float>() + k0 * G;
  const float* h_p = h.data_ptr<float>() + k0 * H;
  float* o_p = out.data_ptr<float>();
  if (K == 0) {
    out.zero_();
    return;
  }
  at::parallel_for(0, G / 8, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t j = 0; j < H; j += PW) {
      const int64_t nv = std::min<int64_t>(PW, H - j) / 16;
      for (int64_t ib = i0; ib < i1; ++ib) {
        const float* A = a_p + ib * 8;
        float* o = o_p + ib * 8 * H + j;
        if (nv == 3) mk_tile_at<3>(A, G, K, h_p + j, H, o, H);
        else if (nv == 2) mk_tile_at<2>(A, G, K, h_p + j, H, o, H);
        else mk_tile_at<1>(A, G, K, h_p + j, H, o, H);
      }
    }
  });
#endif
}

// gi: (T,B,3H), or (B,3H) for a constant input; hs: (T+1,B,H), hs[0] set; g: (T,B,4H) out (rows
// [r, z, n, W_hn h + b_hn]) or empty (inference); wp: pack_fwd(W_h); b: (3H,) b_h. All float32.
void gru_fwd_tiled(const Tensor& gi, bool constant, const Tensor& hs, const Tensor& g, const Tensor& wp,
                   const Tensor& b, bool h0_zero) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t T = hs.size(0) - 1, B = hs.size(1), H = hs.size(2), G = 3 * H;
  TORCH_CHECK(tiled_ok(H), "emovae gru fwd_tiled: not available in this build for hidden size ", H);
  TORCH_CHECK(gi.is_contiguous() && hs.is_contiguous() && g.is_contiguous() && wp.is_contiguous() &&
              b.is_contiguous(), "emovae gru fwd_tiled: buffers must be contiguous");
  TORCH_CHECK(gi.scalar_type() == at::kFloat && hs.scalar_type() == at::kFloat && g.scalar_type() == at::kFloat &&
              wp.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat,
              "emovae gru fwd_tiled: float32 tensors expected");
  TORCH_CHECK(gi.numel() == (constant ? 1 : T) * B * G && (g.numel() == 0 || g.numel() == T * B * 4 * H) &&
              wp.numel() == G * H && b.numel() == G, "emovae gru fwd_tiled: buffer sizes");
#if defined(CPU_CAPABILITY_AVX512)
  const float* gi_p = gi.data_ptr<float>();
  float* hs_p = hs.data_ptr<float>();
  float* g_p = g.numel() > 0 ? g.data_ptr<float>() : nullptr;
  const float* wp_p = wp.data_ptr<float>();
  const float* b_p = b.data_ptr<float>();
  const int64_t NB = H / 16;
  // One step t for rows [b0, b1) and panels [jb0, jb1).
  auto step = [&](int64_t t, int64_t b0, int64_t b1, int64_t jb0, int64_t jb1) {
    alignas(64) float acc[MRT * 48];
    const __m512 one = _mm512_set1_ps(1.f), two = _mm512_set1_ps(2.f);
    {
      const bool zero = t == 0 && h0_zero;  // h_0 = 0: the product is 0 and skipped
      for (int64_t jb = jb0; jb < jb1; ++jb) {
        const int64_t j = jb * 16;
        const __m512 br = _mm512_loadu_ps(b_p + j), bz = _mm512_loadu_ps(b_p + H + j),
                     bn = _mm512_loadu_ps(b_p + 2 * H + j);
        for (int64_t r0 = b0; r0 < b1; r0 += MRT) {
          const int64_t R = std::min(MRT, b1 - r0);
          const float* h = hs_p + (t * B + r0) * H;
          if (zero)
            std::fill(acc, acc + R * 48, 0.f);
          else
            mk_rows<3>(R, h, H, H, wp_p + jb * H * 48, 48, acc);
          for (int64_t m = 0; m < R; ++m) {
            const int64_t row = r0 + m;
            const float* gir = gi_p + ((constant ? 0 : t * B) + row) * G + j;
            const float* ac = acc + m * 48;
            const __m512 ghn = _mm512_add_ps(_mm512_loadu_ps(ac + 32), bn);
            const __m512 r = sigm_fast(_mm512_add_ps(_mm512_loadu_ps(gir), _mm512_add_ps(_mm512_loadu_ps(ac), br)));
            const __m512 z =
                sigm_fast(_mm512_add_ps(_mm512_loadu_ps(gir + H), _mm512_add_ps(_mm512_loadu_ps(ac + 16), bz)));
            const __m512 a = _mm512_fmadd_ps(r, ghn, _mm512_loadu_ps(gir + 2 * H));
            const __m512 nn = _mm512_fmsub_ps(two, sigm_fast(_mm512_add_ps(a, a)), one);  // tanh(a)
            const __m512 out = _mm512_fmadd_ps(z, _mm512_sub_ps(_mm512_loadu_ps(h + m * H + j), nn), nn);
            _mm512_storeu_ps(hs_p + ((t + 1) * B + row) * H + j, out);
            if (g_p) {
              float* gr = g_p + (t * B + row) * 4 * H + j;
              _mm512_storeu_ps(gr, r);
              _mm512_storeu_ps(gr + H, z);
              _mm512_storeu_ps(gr + 2 * H, nn);
              _mm512_storeu_ps(gr + 3 * H, ghn);
            }
          }
        }
      }
    }
  };
  if (split_columns(B)) {  // few rows: the threads share each step's panels, a barrier per step
    for (int64_t t = 0; t < T; ++t) at::parallel_for(0, NB, 1, [&](int64_t j0, int64_t j1) { step(t, 0, B, j0, j1); });
  } else {
    at::parallel_for(0, B, MRT, [&](int64_t b0, int64_t b1) {  // each thread a range of rows, in tiles
      for (int64_t t = 0; t < T; ++t) step(t, b0, b1, 0, NB);
    });
  }
#else
  (void)h0_zero;
#endif
}

// a: (T,B,H), in: the output gradients (plus the h_T gradient at T-1), out: dL/dh_t; g, hs: from
// the forward; dgh: (T,B,3H) out; dgi: (T,B,3H) out, or (B,3H) summed over the steps for a constant
// input (zeroed by the caller); wb: W_h (3H, H) itself, read 48 columns at a time. All float32.
// Returns dL/dh_0 when need_dh0.
std::optional<Tensor> gru_bwd_tiled(const Tensor& a, const Tensor& g, const Tensor& hs, const Tensor& dgh,
                                    const Tensor& dgi, bool constant, const Tensor& wb, bool need_dh0) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t T = g.size(0), B = g.size(1), H = hs.size(2), G = 3 * H;
  TORCH_CHECK(tiled_ok(H), "emovae gru bwd_tiled: not available in this build for hidden size ", H);
  TORCH_CHECK(a.is_contiguous() && g.is_contiguous() && hs.is_contiguous() && dgh.is_contiguous() &&
              dgi.is_contiguous() && wb.is_contiguous(), "emovae gru bwd_tiled: buffers must be contiguous");
  TORCH_CHECK(a.scalar_type() == at::kFloat && g.scalar_type() == at::kFloat && hs.scalar_type() == at::kFloat &&
              dgh.scalar_type() == at::kFloat && dgi.scalar_type() == at::kFloat && wb.scalar_type() == at::kFloat,
              "emovae gru bwd_tiled: float32 tensors expected");
  TORCH_CHECK(a.numel() == T * B * H && hs.numel() == (T + 1) * B * H && g.numel() == T * B * 4 * H &&
              dgh.numel() == T * B * G && dgi.numel() == (constant ? 1 : T) * B * G && wb.numel() == G * H,
              "emovae gru bwd_tiled: buffer sizes");
  Tensor dh0 = need_dh0 ? at::empty({B, H}, hs.options()) : Tensor();
#if defined(CPU_CAPABILITY_AVX512)
  float* a_p = a.data_ptr<float>();
  const float* g_p = g.data_ptr<float>();
  const float* hs_p = hs.data_ptr<float>();
  float* dgh_p = dgh.data_ptr<float>();
  float* dgi_p = dgi.data_ptr<float>();
  const float* wb_p = wb.data_ptr<float>();
  float* dh0_p = need_dh0 ? dh0.data_ptr<float>() : nullptr;
  const int64_t NP = (H + PW - 1) / PW;
  // One step t (t = -1: only dL/dh_0 = d(gh)_0 @ W_h + a_0 z_0) for rows [b0, b1), panels [p0, p1).
  auto step = [&](int64_t t, int64_t b0, int64_t b1, int64_t p0, int64_t p1) {
    alignas(64) float acc[MRT * PW];
    const __m512 one = _mm512_set1_ps(1.f);
    {
      const bool have_m = t < T - 1;  // the product d(gh)_{t+1} @ W_h
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t wd = bwd_width(H, p), NV = wd / 16;
        for (int64_t r0 = b0; r0 < b1; r0 += MRT) {
          const int64_t R = std::min(MRT, b1 - r0);
          if (have_m) mk_any(R, NV, dgh_p + ((t + 1) * B + r0) * G, G, G, wb_p + PW * p, H, acc);
          for (int64_t m = 0; m < R; ++m) {
            const int64_t row = r0 + m;
            for (int64_t v = 0; v < NV; ++v) {
              const int64_t j = PW * p + 16 * v;
              const __m512 mv = _mm512_loadu_ps(acc + m * wd + 16 * v);
              if (t < 0) {
                const __m512 an = _mm512_loadu_ps(a_p + row * H + j);
                const __m512 zn = _mm512_loadu_ps(g_p + row * 4 * H + H + j);
                _mm512_storeu_ps(dh0_p + row * H + j, _mm512_fmadd_ps(an, zn, mv));
                continue;
              }
              float* ar = a_p + (t * B + row) * H + j;
              __m512 av = _mm512_loadu_ps(ar);
              if (have_m) {
                const __m512 an = _mm512_loadu_ps(a_p + ((t + 1) * B + row) * H + j);
                const __m512 zn = _mm512_loadu_ps(g_p + ((t + 1) * B + row) * 4 * H + H + j);
                av = _mm512_add_ps(_mm512_add_ps(av, mv), _mm512_mul_ps(an, zn));
                _mm512_storeu_ps(ar, av);
              }
              const float* gr = g_p + (t * B + row) * 4 * H + j;
              const __m512 r = _mm512_loadu_ps(gr), z = _mm512_loadu_ps(gr + H);
              const __m512 nn = _mm512_loadu_ps(gr + 2 * H), ghn = _mm512_loadu_ps(gr + 3 * H);
              const __m512 hp = _mm512_loadu_ps(hs_p + (t * B + row) * H + j);
              const __m512 dn = _mm512_mul_ps(_mm512_mul_ps(av, _mm512_sub_ps(one, z)),
                                              _mm512_fnmadd_ps(nn, nn, one));  // a (1 - z) (1 - n^2)
              const __m512 dz = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(av, _mm512_sub_ps(hp, nn)), z),
                                              _mm512_sub_ps(one, z));  // a (h - n) z (1 - z)
              const __m512 dr = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dn, ghn), r),
                                              _mm512_sub_ps(one, r));  // dn ghn r (1 - r)
              float* dg = dgh_p + (t * B + row) * G + j;
              _mm512_storeu_ps(dg, dr);
              _mm512_storeu_ps(dg + H, dz);
              _mm512_storeu_ps(dg + 2 * H, _mm512_mul_ps(dn, r));
              float* di = dgi_p + ((constant ? 0 : t * B) + row) * G + j;
              if (constant) {
                _mm512_storeu_ps(di, _mm512_add_ps(_mm512_loadu_ps(di), dr));
                _mm512_storeu_ps(di + H, _mm512_add_ps(_mm512_loadu_ps(di + H), dz));
                _mm512_storeu_ps(di + 2 * H, _mm512_add_ps(_mm512_loadu_ps(di + 2 * H), dn));
              } else {
                _mm512_storeu_ps(di, dr);
                _mm512_storeu_ps(di + H, dz);
                _mm512_storeu_ps(di + 2 * H, dn);
              }
            }
          }
        }
      }
    }
  };
  const int64_t t_end = need_dh0 ? -1 : 0;
  if (split_columns(B)) {  // few rows: the threads share each step's panels, a barrier per step
    for (int64_t t = T - 1; t >= t_end; --t)
      at::parallel_for(0, NP, 1, [&](int64_t p0, int64_t p1) { step(t, 0, B, p0, p1); });
  } else {
    at::parallel_for(0, B, MRT, [&](int64_t b0, int64_t b1) {  // each thread a range of rows, in tiles
      for (int64_t t = T - 1; t >= t_end; --t) step(t, b0, b1, 0, NP);
    });
  }
#endif
  if (!need_dh0) return std::nullopt;
  return dh0;
}
// -------------------------------------------------------------------------------------------------
// Token inputs: the first n input features of each step are the one-hot of a token (the encoder's
// melody), the other m are dense (its per-step condition). The input projection of a one-hot is a
// column of W_i, and its weight gradient a sum of d(gi) rows per token, so neither needs a product
// over the n zero-or-one features. Rows k are steps x examples (time-major, N = T B).

// The checks embed_fwd and embed_bwd share: tok (N,) int64 in [0, n), xr (N, m) float32 and
// w = W_i (3H, n + m) float32, m = w.size(1) - n >= 0.
void check_tokens(const Tensor& tok, const Tensor& xr, const Tensor& w, int64_t n, const char* what) {
  const int64_t N = tok.numel(), m = w.dim() == 2 ? w.size(1) - n : -1;
  TORCH_CHECK(tok.scalar_type() == at::kLong && tok.is_contiguous() && n >= 1 && m >= 0 &&
              xr.scalar_type() == at::kFloat && xr.is_contiguous() && xr.numel() == N * m &&
              w.scalar_type() == at::kFloat, "emovae gru ", what, ": bad arguments");
  const int64_t* t_p = tok.data_ptr<int64_t>();
  for (int64_t k = 0; k < N; ++k)
    TORCH_CHECK(t_p[k] >= 0 && t_p[k] < n, "emovae gru ", what, ": token ", t_p[k], " outside [0, ", n, ")");
}

// gi (N, 3H) = W_i[:, tok[k]] + b_i + W_i[:, n:] xr[k] for each row k. w: W_i (3H, n + m) float32;
// tok: (N,) int64 in [0, n); xr: (N, m) float32 (m may be 0); b: (3H,).
void embed_fwd(const Tensor& tok, const Tensor& xr, const Tensor& w, const Tensor& b, int64_t n, const Tensor& gi) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t N = tok.numel(), G = w.size(0), m = w.size(1) - n;
  check_tokens(tok, xr, w, n, "embed_fwd");
  TORCH_CHECK(b.scalar_type() == at::kFloat && b.numel() == G && b.is_contiguous() && gi.scalar_type() == at::kFloat &&
              gi.is_contiguous() && gi.numel() == N * G, "emovae gru embed_fwd: bad arguments");
  const int64_t* t_p = tok.data_ptr<int64_t>();
  const Tensor wt = w.narrow(1, 0, n).t().contiguous();  // (n, 3H)
  const Tensor wr = w.narrow(1, n, m).t().contiguous();  // (m, 3H)
  const float* wt_p = wt.data_ptr<float>();
  const float* wr_p = wr.data_ptr<float>();
  const float* x_p = m ? xr.data_ptr<float>() : nullptr;
  const float* b_p = b.data_ptr<float>();
  float* o_p = gi.data_ptr<float>();
  at::parallel_for(0, N, 64, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      const float* wk = wt_p + t_p[k] * G;
      for (int64_t j = 0; j < G; j += VS) {
        const int64_t len = std::min(VS, G - j);
        Vec v = Vec::loadu(wk + j, len) + Vec::loadu(b_p + j, len);
        for (int64_t c = 0; c < m; ++c) v = at::vec::fmadd(Vec(x_p[k * m + c]), Vec::loadu(wr_p + c * G + j, len), v);
        v.store(o_p + k * G + j, len);
      }
    }
  });
}

constexpr int64_t kEmbedDense = 8;  // dense features beside the tokens that embed_bwd takes

// One strip of len <= VS columns of dgi (row stride ld) over its N rows: per token sums into acc
// (n x VS), per dense feature (M of them) and the bias into aw ((M + 1) x VS), kept in registers.
template <int M>
void embed_cols(const float* d, int64_t ld, int64_t len, const int64_t* tok, const float* x, int64_t N, float* acc,
                float* aw) {
  Vec sw[M + 1];
  for (int c = 0; c <= M; ++c) sw[c] = Vec(0.f);
  for (int64_t k = 0; k < N; ++k) {
    const Vec v = Vec::loadu(d + k * ld, len);
    float* a = acc + tok[k] * VS;
    (Vec::loadu(a) + v).store(a);
    for (int c = 0; c < M; ++c) sw[c] = at::vec::fmadd(Vec(x[k * M + c]), v, sw[c]);
    sw[M] = sw[M] + v;
  }
  for (int c = 0; c <= M; ++c) sw[c].store(aw + c * VS);
}

// The input side of the backward pass for token inputs, from dgi = d(gi) (N, 3H):
// returns (dW_i (3H, n + m), db_i (3H,), dxr (N, m) or an empty tensor when not need_dx).
// dW_i[:, t] sums the rows whose token is t; dW_i[:, n + c] = sum_k xr[k, c] dgi[k]; db_i sums all
// rows. Each thread takes whole columns (every sum runs over k in order: the same bits for any
// thread count); dxr[k] = W_i[:, n:]^T dgi[k], each thread whole rows.
std::tuple<Tensor, Tensor, Tensor> embed_bwd(const Tensor& dgi, const Tensor& tok, const Tensor& xr, const Tensor& w,
                                             int64_t n, bool need_dx) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t N = tok.numel(), G = w.size(0), m = w.size(1) - n;
  check_tokens(tok, xr, w, n, "embed_bwd");
  TORCH_CHECK(dgi.scalar_type() == at::kFloat && dgi.is_contiguous() && dgi.numel() == N * G && m <= kEmbedDense,
              "emovae gru embed_bwd: bad arguments");
  const int64_t* t_p = tok.data_ptr<int64_t>();
  const Tensor dw = at::empty({G, n + m}, w.options());
  const Tensor db = at::empty({G}, w.options());
  const float* d_p = dgi.data_ptr<float>();
  const float* x_p = m ? xr.data_ptr<float>() : nullptr;
  float* dw_p = dw.data_ptr<float>();
  float* db_p = db.data_ptr<float>();
  at::parallel_for(0, (G + VS - 1) / VS, 1, [&](int64_t c0, int64_t c1) {
    std::vector<float> acc(n * VS);  // per token: VS columns
    for (int64_t cb = c0; cb < c1; ++cb) {
      const int64_t j = cb * VS, len = std::min(VS, G - j);
      std::fill(acc.begin(), acc.end(), 0.f);
      alignas(64) float aw[(kEmbedDense + 1) * VS];  // per dense feature, then the bias
      switch (m) {
        case 0: embed_cols<0>(d_p + j, G, len, t_p, x_p, N, acc.data(), aw); break;
        case 1: embed_cols<1>(d_p + j, G, len, t_p, x_p, N, acc.data(), aw); break;
        case 2: embed_cols<2>(d_p + j, G, len, t_p, x_p, N, acc.data(), aw); break;
        case 3: embed_cols<3>(d_p + j, G, len, t_p, x_p, N, acc.data(), aw); break;
        case 4: embed_cols<4>(d_p + j, G, len, t_p, x_p, N, acc.data(), aw); break;
        case 5: embed_cols<5>(d_p + j, G, len, t_p, x_p, N, acc.data(), aw); break;
        case 6: embed_cols<6>(d_p + j, G, len, t_p, x_p, N, acc.data(), aw); break;
        case 7: embed_cols<7>(d_p + j, G, len, t_p, x_p, N, acc.data(), aw); break;
        default: embed_cols<8>(d_p + j, G, len, t_p, x_p, N, acc.data(), aw); break;
      }
      for (int64_t i = 0; i < len; ++i) {
        float* row = dw_p + (j + i) * (n + m);
        for (int64_t t = 0; t < n; ++t) row[t] = acc[t * VS + i];
        for (int64_t c = 0; c < m; ++c) row[n + c] = aw[c * VS + i];
        db_p[j + i] = aw[m * VS + i];
      }
    }
  });
  Tensor dx;
  if (need_dx && m > 0) {
    dx = at::empty({N, m}, w.options());
    const Tensor wr = w.narrow(1, n, m).t().contiguous();  // (m, 3H)
    const float* wr_p = wr.data_ptr<float>();
    float* dx_p = dx.data_ptr<float>();
    at::parallel_for(0, N, 64, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k)
        for (int64_t c = 0; c < m; ++c) {
          Vec s(0.f);
          for (int64_t j = 0; j < G; j += VS) {
            const int64_t len = std::min(VS, G - j);
            s = at::vec::fmadd(Vec::loadu(d_p + k * G + j, len), Vec::loadu(wr_p + c * G + j, len), s);
          }
          dx_p[k * m + c] = at::vec::vec_reduce_all<float>([](Vec& a, Vec& b) { return a + b; }, s);
        }
    });
  } else {
    dx = at::empty({0}, w.options());
  }
  return {dw, db, dx};
}

// -------------------------------------------------------------------------------------------------
// Keras's RMSprop step over a list of float32 tensors, one pass over each (the optimizer of
// emovae.training): p *= decay (when decay != 1); v = v rho + (1 - rho) g g; p += -lr g / sqrt(v + eps).
// Each operation rounds as ATen's ops in the foreach version do (mul_; addcmul_ as one fused
// multiply-add of (1 - rho) g and g; add; addcdiv_ with no fused multiply-add) except the square
// root, which is IEEE's correctly rounded one here (ATen's vectorised sqrt may be 1 ulp off). It
// reads and writes each tensor once instead of five times, in one call for all of them.
__attribute__((optimize("fp-contract=off"))) void rmsprop_chunk(float* p, const float* g, float* v, int64_t n,
                                                                float lr_neg, float rho, float one_m_rho,
                                                                float eps, float decay, bool decayed) {
  const Vec vr(rho), vc(one_m_rho), ve(eps), vl(lr_neg), vd(decay);
  for (int64_t i = 0; i < n; i += VS) {
    const int64_t m = std::min(VS, n - i);
    const Vec gv = Vec::loadu(g + i, m);
    Vec pv = Vec::loadu(p + i, m);
    if (decayed) pv = pv * vd;
    const Vec vv = at::vec::fmadd(vc * gv, gv, Vec::loadu(v + i, m) * vr);
    pv = pv + (vl * gv) / (vv + ve).sqrt();
    vv.store(v + i, m);
    pv.store(p + i, m);
  }
}

// Returns false, touching nothing, unless every tensor is a contiguous float32 CPU tensor and each
// triple has one size (the caller then runs its own step).
bool rmsprop(at::TensorList params, at::TensorList grads, at::TensorList vs, double lr, double rho, double eps,
             double decay) {
  at::AutoDispatchBelowADInplaceOrView guard;
  if (params.size() != grads.size() || params.size() != vs.size()) return false;
  for (size_t k = 0; k < params.size(); ++k)
    for (const Tensor* t : {&params[k], &grads[k], &vs[k]})
      if (!t->defined() || t->scalar_type() != at::kFloat || !t->is_contiguous() || !t->device().is_cpu() ||
          t->numel() != params[k].numel())
        return false;
  const float lr_neg = static_cast<float>(-lr), rho_f = static_cast<float>(rho);
  const float one_m_rho = static_cast<float>(1.0 - rho), eps_f = static_cast<float>(eps);
  const float decay_f = static_cast<float>(decay);
  const bool decayed = decay != 1.0;
  for (size_t k = 0; k < params.size(); ++k) {
    float* p = params[k].data_ptr<float>();
    const float* g = grads[k].data_ptr<float>();
    float* v = vs[k].data_ptr<float>();
    const int64_t n = params[k].numel();
    // 2048 vectors (128 KiB of each tensor) per task: small tensors stay on one thread
    at::parallel_for(0, (n + VS - 1) / VS, 2048, [&](int64_t c0, int64_t c1) {
      const int64_t i0 = c0 * VS, i1 = std::min(n, c1 * VS);
      rmsprop_chunk(p + i0, g + i0, v + i0, i1 - i0, lr_neg, rho_f, one_m_rho, eps_f, decay_f, decayed);
    });
  }
  return true;
}
}  // namespace

TORCH_LIBRARY(EMOVAE_NS, mod) {
  mod.def("transpose(Tensor src, Tensor out) -> ()", &transpose_into);
  mod.def("embed_fwd(Tensor tok, Tensor xr, Tensor w, Tensor b, int n, Tensor gi) -> ()", &embed_fwd);
  mod.def("embed_bwd(Tensor dgi, Tensor tok, Tensor xr, Tensor w, int n, bool need_dx) -> (Tensor, Tensor, Tensor)", &embed_bwd);
  mod.def("dw_tiled(Tensor dgh, Tensor h, int k0, Tensor out) -> ()", &dw_tiled);
  mod.def("rmsprop(Tensor[] params, Tensor[] grads, Tensor[] vs, float lr, float rho, float eps, float decay) -> bool", &rmsprop);
  mod.def("fwd(Tensor gi, bool constant, Tensor hs, Tensor g, Tensor hsb, Tensor w, Tensor b, bool onednn, bool h0_zero) -> ()", &gru_fwd);
  mod.def("decode(Tensor x, Tensor wi, Tensor bi, Tensor w32, Tensor b, Tensor w16, Tensor inv, float qscale, int k0, int chunk, Tensor wo, Tensor bo, Tensor logits, int block) -> ()", &decode_fused);
  mod.def("decode_caps() -> int", &decode_caps);
  mod.def("tiled_caps() -> int", &tiled_caps);
  mod.def("pack_fwd(Tensor w, Tensor out) -> ()", &pack_fwd);
  mod.def("fwd_tiled(Tensor gi, bool constant, Tensor hs, Tensor g, Tensor wp, Tensor b, bool h0_zero) -> ()", &gru_fwd_tiled);
  mod.def("bwd_tiled(Tensor a, Tensor g, Tensor hs, Tensor dgh, Tensor dgi, bool constant, Tensor wb, bool need_dh0) -> Tensor?", &gru_bwd_tiled);
  mod.def("bwd(Tensor a, Tensor g, Tensor hs, Tensor dgh, Tensor dgi, bool constant, Tensor wt, bool onednn, bool need_dh0) -> Tensor?", &gru_bwd);
}
