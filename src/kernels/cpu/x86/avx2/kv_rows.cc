// AVX2 + FMA + F16C versions of kernels/kv_rows.h. Only intrinsics here: a header's inline
// function compiled with these flags could be the copy the linker keeps for scalar machines.
#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/x86/avx2/kernels_avx2.h"
#include "kernels/kv_rows.h"
#include "tensor/dtype.h"

namespace limarp::kernels::avx2 {
namespace {

template <DType kType>
inline __m256 load8(const void* row, int64_t i) {
  if constexpr (kType == DType::kF16)
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(row) + i)));
  else
    return _mm256_loadu_ps(static_cast<const float*>(row) + i);
}

template <DType kType>
inline float load1(const void* row, int64_t i) {
  if constexpr (kType == DType::kF16) return _cvtsh_ss(static_cast<const uint16_t*>(row)[i]);
  else return static_cast<const float*>(row)[i];
}

template <DType kType>
constexpr size_t kElementBytes = kType == DType::kF16 ? 2 : 4;

// Rows are read in order, but each head's rows span many 4 KiB pages and the hardware
// prefetchers stop at every page boundary: asking for the lines a page ahead took a decoded
// token's attention over 2048 cached f16 positions from 10-11 to 16-19 GB/s on the project
// machine (with the scores' weight kernels prefetching likewise).
constexpr size_t kAhead = 4096;

// out[c, c + 8 NV) = sum_p w[p] * rows[p][c, c + 8 NV), the accumulators in registers.
template <DType kType, int NV>
void weighted_columns(float* out, const float* w, const uint8_t* base, size_t stride, int64_t n, int64_t c) {
  __m256 acc[NV];
  for (int j = 0; j < NV; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t p = 0; p < n; ++p) {
    const __m256 wp = _mm256_broadcast_ss(w + p);
    const uint8_t* r = base + p * stride;
    for (int j = 0; j < NV * 8 * static_cast<int>(kElementBytes<kType>); j += 64)
      _mm_prefetch(reinterpret_cast<const char*>(r + kElementBytes<kType> * c + j + kAhead), _MM_HINT_T0);
    for (int j = 0; j < NV; ++j) acc[j] = _mm256_fmadd_ps(wp, load8<kType>(r, c + 8 * j), acc[j]);
  }
  for (int j = 0; j < NV; ++j) _mm256_storeu_ps(out + c + 8 * j, acc[j]);
}

template <DType kType>
void weighted(float* out, const float* w, const void* rows, int64_t n, int64_t dim) {
  const auto* base = static_cast<const uint8_t*>(rows);
  const size_t stride = kElementBytes<kType> * static_cast<size_t>(dim);
  int64_t c = 0;
  // Eight accumulators: half of AVX2's sixteen registers, the rest for loads and the weight.
  for (; c + 64 <= dim; c += 64) weighted_columns<kType, 8>(out, w, base, stride, n, c);
  for (; c + 8 <= dim; c += 8) weighted_columns<kType, 1>(out, w, base, stride, n, c);
  for (; c < dim; ++c) {
    float s = 0;
    for (int64_t p = 0; p < n; ++p) s += w[p] * load1<kType>(base + p * stride, c);
    out[c] = s;
  }
}

// The block types: out[0, dim) = sum_p w[p] * rows[p] for rows of 32-element blocks, two blocks
// (8 accumulators) at a time. AddBlock(acc, wp, block) adds w[p] times one block to 4 of them.
template <size_t kBlockBytes, int NB, typename AddBlock>
void weighted_blocks(float* out, const float* w, const uint8_t* base, size_t stride, int64_t n, int64_t b0,
                     AddBlock add) {
  __m256 acc[4 * NB];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (int64_t p = 0; p < n; ++p) {
    const uint8_t* r = base + p * stride + b0 * kBlockBytes;
    for (size_t j = 0; j < NB * kBlockBytes; j += 64) _mm_prefetch(reinterpret_cast<const char*>(r + j + kAhead), _MM_HINT_T0);
    for (int b = 0; b < NB; ++b) add(acc + 4 * b, w[p], r + b * kBlockBytes);
  }
  for (int i = 0; i < 4 * NB; ++i) _mm256_storeu_ps(out + 32 * b0 + 8 * i, acc[i]);
}

template <size_t kBlockBytes, typename AddBlock>
void weighted_block_rows(float* out, const float* w, const void* rows, int64_t n, int64_t dim, AddBlock add) {
  const auto* base = static_cast<const uint8_t*>(rows);
  const size_t stride = static_cast<size_t>(dim / 32) * kBlockBytes;
  int64_t b = 0;
  for (; b + 2 <= dim / 32; b += 2) weighted_blocks<kBlockBytes, 2>(out, w, base, stride, n, b, add);
  for (; b < dim / 32; ++b) weighted_blocks<kBlockBytes, 1>(out, w, base, stride, n, b, add);
}

inline float block_scale(const uint8_t* block) {
  uint16_t d;
  std::memcpy(&d, block, 2);
  return _cvtsh_ss(d);
}

// Q8_0: an f16 scale, 32 int8 codes, widened to floats and scaled by w[p] times the scale.
void weighted_q8(float* out, const float* w, const void* rows, int64_t n, int64_t dim) {
  weighted_block_rows<34>(out, w, rows, n, dim, [](__m256* acc, float wp, const uint8_t* blk) {
    const __m256 s = _mm256_set1_ps(wp * block_scale(blk));
    for (int j = 0; j < 4; ++j) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 2 + 8 * j));
      acc[j] = _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), acc[j]);
    }
  });
}

// Q4_0: an f16 scale, 16 bytes of codes (element i < 16 the low nibble of byte i, 16 + i its high
// nibble; value (code - 8) * scale). The - 8 becomes w[p] * scale * -8 added to every element.
void weighted_q4(float* out, const float* w, const void* rows, int64_t n, int64_t dim) {
  weighted_block_rows<18>(out, w, rows, n, dim, [](__m256* acc, float wp, const uint8_t* blk) {
    const float scale = wp * block_scale(blk);
    const __m256 s = _mm256_set1_ps(scale), shift = _mm256_set1_ps(-8.0f * scale);
    const __m128i low4 = _mm_set1_epi8(0x0F);
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
    const __m128i lo = _mm_and_si128(q, low4), hi = _mm_and_si128(_mm_srli_epi16(q, 4), low4);
    const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
    for (int j = 0; j < 4; ++j)
      acc[j] = _mm256_add_ps(_mm256_fmadd_ps(s, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(parts[j])), shift), acc[j]);
  });
}

}  // namespace

void weighted_row_sum(float* out, const float* w, const void* rows, DType type, int64_t n, int64_t dim) {
  switch (type) {
    case DType::kF16: weighted<DType::kF16>(out, w, rows, n, dim); return;
    case DType::kF32: weighted<DType::kF32>(out, w, rows, n, dim); return;
    case DType::kQ8_0: weighted_q8(out, w, rows, n, dim); return;
    case DType::kQ4_0: weighted_q4(out, w, rows, n, dim); return;
    default: weighted_row_sum_scalar(out, w, rows, type, n, dim); return;
  }
}

void store_kv_row(void* dst, DType type, const float* src, int64_t n) {
  if (type != DType::kF32 && type != DType::kF16) {
    store_kv_row_scalar(dst, type, src, n);
    return;
  }
  if (type == DType::kF32) {
    std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(n));
    return;
  }
  auto* h = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) h[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

void load_kv_row(float* dst, const void* src, DType type, int64_t n) {
  if (type != DType::kF32 && type != DType::kF16) {
    load_kv_row_scalar(dst, src, type, n);
    return;
  }
  if (type == DType::kF32) {
    std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(n));
    return;
  }
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8<DType::kF16>(src, i));
  for (; i < n; ++i) dst[i] = load1<DType::kF16>(src, i);
}

}  // namespace limarp::kernels::avx2
