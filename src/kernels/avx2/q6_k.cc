// Q6_K × int8 activations with AVX2, on the stored 210-byte super-blocks: per quarter of 32
// elements one vector of six-bit codes (a nibble of ql and two bits of qh, in element order),
// VPMADDUBSW against the activations and VPMADDWD into eight 32-bit sums, lanes 0-3 the first
// sub-block of 16 and lanes 4-7 the second; the codes' offset 32 enters as -32 * sum(x) per
// sub-block. Before this kernel AVX2 CPUs computed Q6_K with the scalar twin (Q4_K_M keeps
// its output matrix and about half its attn_v and ffn_down in Q6_K).
//
// Prepared layout, per super-block (256 elements), 384 bytes:
//   [0,256) int8 elements; [256,320) float d_x of sub-block s (of 16; a block of 32's d_x,
//   twice); [320,384) float -32 * sum_x * d_x of sub-block s. With d_x per sub-block, one
//   multiply per half gives every quarter's scales, and the offset's correction is one
//   multiply-add per half instead of an integer add per quarter.
#include "kernels/avx2/kernels_avx2.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/activation_quant.h"
#include "tensor/quant_blocks.h"

namespace limarp::kernels::avx2 {
namespace {

constexpr int64_t kSuper = 256;
constexpr size_t kActBytes = 384;

size_t bytes(int64_t n) { return round_up_64(static_cast<size_t>(n / kSuper) * kActBytes); }

void prepare(const float* x, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n / kSuper; ++i) {
    uint8_t* o = out + i * kActBytes;
    auto* q = reinterpret_cast<int8_t*>(o);
    for (int b = 0; b < 8; ++b) {
      const ActBlock a = quantize_act_block(x + i * kSuper + 32 * b, q + 32 * b);
      for (int h = 0; h < 2; ++h) {
        int32_t sum = 0;
        for (int l = 0; l < 16; ++l) sum += q[32 * b + 16 * h + l];
        const float correction = static_cast<float>(-32 * sum) * a.d;
        std::memcpy(o + 256 + 4 * (2 * b + h), &a.d, 4);
        std::memcpy(o + 320 + 4 * (2 * b + h), &correction, 4);
      }
    }
  }
}

float dot(const uint8_t* w, const uint8_t* px, int64_t n) {
  const __m256i ones = _mm256_set1_epi16(1), lo4 = _mm256_set1_epi8(0x0F), bits45 = _mm256_set1_epi8(0x30);
  // One accumulator per quarter: a single one chained ten dependent FMAs per super-block
  // (the kernel alone, best of 15 runs on Zen 3: 16.3-16.5 -> 17.5-18.6 GB/s per core).
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  const auto* blocks = reinterpret_cast<const BlockQ6_K*>(w);
  for (int64_t i = 0; i < n / kSuper; ++i) {
    const BlockQ6_K& b = blocks[i];
    const uint8_t* xs = px + i * kActBytes;
    _mm_prefetch(reinterpret_cast<const char*>(&b) + 1024, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(&b) + 1024 + 64, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(&b) + 1024 + 128, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(&b) + 1024 + 192, _MM_HINT_T0);
    const float d = _cvtsh_ss(b.d);
    for (int half = 0; half < 2; ++half) {
      // The half's eight sub-block scales times d; quarter k takes lanes 2k (its first
      // sub-block of 16) and 2k + 1 (its second).
      int64_t scales8;
      std::memcpy(&scales8, b.scales + 8 * half, 8);
      const __m256 sc = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(scales8))),
                                      _mm256_set1_ps(d));
      const __m256 sc_dx = _mm256_mul_ps(sc, _mm256_loadu_ps(reinterpret_cast<const float*>(xs + 256 + 32 * half)));
      acc[0] = _mm256_fmadd_ps(sc, _mm256_loadu_ps(reinterpret_cast<const float*>(xs + 320 + 32 * half)), acc[0]);
      const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * half));
      const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * half + 32));
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * half));
      for (int k = 0; k < 4; ++k) {
        const __m256i ql = k % 2 == 0 ? ql0 : ql1;
        const __m256i low = _mm256_and_si256(k < 2 ? ql : _mm256_srli_epi16(ql, 4), lo4);
        // Bits 2k, 2k + 1 of each qh byte moved to bits 4-5: a 16-bit shift moves them within
        // their byte (the mask drops what crossed over), one shift fewer than down, mask, up.
        const __m256i at45 = k < 2 ? _mm256_slli_epi16(qh, 4 - 2 * k) : k == 2 ? qh : _mm256_srli_epi16(qh, 2);
        const __m256i high = _mm256_and_si256(at45, bits45);
        const __m256i codes = _mm256_or_si256(low, high);
        const int q = 4 * half + k;  // the quarter's activation block
        const __m256i p = _mm256_madd_epi16(
            _mm256_maddubs_epi16(codes, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs + 32 * q))), ones);
        const __m256i pick = _mm256_setr_epi32(2 * k, 2 * k, 2 * k, 2 * k, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1);
        acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_permutevar8x32_ps(sc_dx, pick), acc[k]);
      }
    }
  }
  const __m256 all = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(all), _mm256_extractf128_ps(all, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

void tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
          int64_t tokens, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < tokens; ++t) y[t * ldy + r] = dot(w + r * ldw, px + t * ldx, n);
}

}  // namespace

const WeightKernel kQ6_K = {"q6_k/avx2", DType::kQ6_K, Isa::kAvx2, kSuper, bytes, prepare, tile};

}  // namespace limarp::kernels::avx2
