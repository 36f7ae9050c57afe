// AVX2 + FMA + F16C kernels for CPUs without AVX-512: Q4_0 and Q8_0 against int8 activations
// (VPMADDUBSW pairs, then VPMADDWD), and f32 / f16 / bf16 against f32 activations. The
// regrouped Q4_0/Q8_0/Q4_K kernels are in interleaved.cc, Q6_K in q6_k.cc; stored Q4_K, the
// other K-quants and NF4 use the scalar twins at this level.
//
// Prepared integer layout, per block of 32: [0,32) int8 elements, [32,64) float d_x × 8,
// [64,96) float offset term × 8 (Q4_0: -8 * d_x * sum / 8; Q8_0: zero).
#include "kernels/cpu/x86/avx2/kernels_avx2.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/activation_quant.h"
#include "kernels/weight_kernels.h"
#include "tensor/quant_blocks.h"

namespace limarp::kernels {
namespace {

constexpr size_t kBlockBytes = 96;

size_t int_bytes(int64_t n) { return static_cast<size_t>(n / kActBlock) * kBlockBytes; }

template <int kOffset>
void int_prepare(const float* x, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / kActBlock; ++b) {
    uint8_t* o = out + b * kBlockBytes;
    const ActBlock a = quantize_act_block(x + b * kActBlock, reinterpret_cast<int8_t*>(o));
    auto* dx = reinterpret_cast<float*>(o + 32);
    auto* cx = reinterpret_cast<float*>(o + 64);
    for (int l = 0; l < 8; ++l) {
      dx[l] = a.d;
      cx[l] = -static_cast<float>(kOffset) * a.d * static_cast<float>(a.sum) / 8.0f;
    }
  }
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

float dot_q4_0(const uint8_t* w, const uint8_t* px, int64_t n) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc = _mm256_setzero_ps();
  const auto* b = reinterpret_cast<const BlockQ4_0*>(w);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const uint8_t* xb = px + i * kBlockBytes;
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].qs));
    const __m256i codes = _mm256_and_si256(
        _mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1), m4);
    const __m256i p16 = _mm256_maddubs_epi16(codes, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb)));
    const __m256i p32 = _mm256_madd_epi16(p16, ones);
    const __m256 f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p32), _mm256_loadu_ps(reinterpret_cast<const float*>(xb + 32)),
                                     _mm256_loadu_ps(reinterpret_cast<const float*>(xb + 64)));
    acc = _mm256_fmadd_ps(f, _mm256_set1_ps(half_to_float(b[i].d)), acc);
  }
  return hsum(acc);
}

float dot_q8_0(const uint8_t* w, const uint8_t* px, int64_t n) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc = _mm256_setzero_ps();
  const auto* b = reinterpret_cast<const BlockQ8_0*>(w);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const uint8_t* xb = px + i * kBlockBytes;
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs));
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb));
    // |w| × (x with w's sign): unsigned × signed as VPMADDUBSW wants, same products.
    const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(xv, q));
    const __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones)),
                                   _mm256_loadu_ps(reinterpret_cast<const float*>(xb + 32)));
    acc = _mm256_fmadd_ps(f, _mm256_set1_ps(half_to_float(b[i].d)), acc);
  }
  return hsum(acc);
}

template <float (*kDot)(const uint8_t*, const uint8_t*, int64_t)>
void int_tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
              int64_t tokens, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < tokens; ++t) y[t * ldy + r] = kDot(w + r * ldw, px + t * ldx, n);
}

size_t float_bytes(int64_t n) { return round_up_64(static_cast<size_t>(n) * 4); }
void float_prepare(const float* x, int64_t n, uint8_t* out) { std::memcpy(out, x, static_cast<size_t>(n) * 4); }

template <DType kType>
inline __m256 load8(const uint8_t* row, int64_t i) {
  if constexpr (kType == DType::kF32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i);
  } else if constexpr (kType == DType::kF16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i)));
  } else {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
}

template <DType kType>
void float_tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
                int64_t tokens, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* wr = w + r * ldw;
    for (int64_t t = 0; t < tokens; ++t) {
      const float* xt = reinterpret_cast<const float*>(px + t * ldx);
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      int64_t i = 0;
      for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(load8<kType>(wr, i), _mm256_loadu_ps(xt + i), a0);
        a1 = _mm256_fmadd_ps(load8<kType>(wr, i + 8), _mm256_loadu_ps(xt + i + 8), a1);
      }
      if (i < n) a0 = _mm256_fmadd_ps(load8<kType>(wr, i), _mm256_loadu_ps(xt + i), a0);
      y[t * ldy + r] = hsum(_mm256_add_ps(a0, a1));
    }
  }
}

const WeightKernel kKernels[] = {
    {"q4_0/avx2", DType::kQ4_0, Isa::kAvx2, 32, int_bytes, int_prepare<8>, int_tile<dot_q4_0>},
    {"q8_0/avx2", DType::kQ8_0, Isa::kAvx2, 32, int_bytes, int_prepare<0>, int_tile<dot_q8_0>},
    avx2::kQ4_0R16,
    avx2::kQ8_0R16,
    avx2::kQ4_KR16,
    avx2::kQ6_K,
    {"f32/avx2", DType::kF32, Isa::kAvx2, 8, float_bytes, float_prepare, float_tile<DType::kF32>},
    {"f16/avx2", DType::kF16, Isa::kAvx2, 8, float_bytes, float_prepare, float_tile<DType::kF16>},
    {"bf16/avx2", DType::kBF16, Isa::kAvx2, 8, float_bytes, float_prepare, float_tile<DType::kBF16>},
};

}  // namespace

const WeightKernel* avx2_kernels(size_t* count) {
  *count = sizeof(kKernels) / sizeof(kKernels[0]);
  return kKernels;
}

}  // namespace limarp::kernels
