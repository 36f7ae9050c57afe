// Scalar kernels: the portable fallback and the twins the SIMD kernels are tested against.
//   - "float" kernel for every type: dequantize a weight row, dot with f32 activations.
//   - integer twins for q8_0, q4_0, q4_k and q6_k: the exact math of their SIMD versions
//     (activations quantized to int8 blocks of 32, integer block dots, float scaling), and
//     for interleaved q4_k and q6_k also the ones with a scale per super-block (see
//     dot_q4_k_super and dot_q6_k_super).
// Prepared integer layout: cpu/generic/int_act.h.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/activation_quant.h"
#include "kernels/cpu/generic/int_act.h"
#include "kernels/super_act.h"
#include "kernels/ops.h"
#include "kernels/weight_kernels.h"
#include "tensor/row_interleave.h"
#include "tensor/quant_blocks.h"
#include "tensor/quantize.h"
#include "base/half.h"

namespace limarp::kernels {
namespace {

// --- float kernel (any type) ---

size_t float_bytes(int64_t n) { return round_up_64(static_cast<size_t>(n) * sizeof(float)); }
void float_prepare(const float* x, int64_t n, uint8_t* out) { std::memcpy(out, x, static_cast<size_t>(n) * 4); }

// A weight row is dequantized a chunk at a time into a buffer on the stack, so the kernel
// allocates nothing (attention runs it per head and token over an f16 KV cache where no SIMD
// f16 kernel exists). A chunk of 256 elements is whole blocks of every type.
template <DType kType>
void float_tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
                int64_t tokens, int64_t n) {
  constexpr int64_t kChunk = 256;
  float chunk[kChunk];
  for (int64_t r = 0; r < rows; ++r) {
    if constexpr (kType == DType::kF32) {
      const auto* wr = reinterpret_cast<const float*>(w + r * ldw);
      for (int64_t t = 0; t < tokens; ++t) y[t * ldy + r] = dot_f32(reinterpret_cast<const float*>(px + t * ldx), wr, n);
    } else {
      for (int64_t t = 0; t < tokens; ++t) y[t * ldy + r] = 0.0f;
      for (int64_t c = 0; c < n; c += kChunk) {
        const int64_t m = std::min(kChunk, n - c);
        dequantize_row(kType, w + r * ldw + *row_bytes(kType, c), chunk, m);
        for (int64_t t = 0; t < tokens; ++t)
          y[t * ldy + r] += dot_f32(reinterpret_cast<const float*>(px + t * ldx) + c, chunk, m);
      }
    }
  }
}

// --- integer twins ---

float dot_q8_0(const uint8_t* w, const IntActView& a, int64_t n) {
  const auto* b = reinterpret_cast<const BlockQ8_0*>(w);
  float acc = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int32_t s = 0;
    for (int j = 0; j < kQK; ++j) s += b[i].qs[j] * a.q[i * kQK + j];
    acc += f16_to_f32(b[i].d) * (a.d[i] * static_cast<float>(s));
  }
  return acc;
}

float dot_q4_0(const uint8_t* w, const IntActView& a, int64_t n) {
  const auto* b = reinterpret_cast<const BlockQ4_0*>(w);
  float acc = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int32_t s = 0;  // unsigned codes times q, offset removed through the block sum
    for (int j = 0; j < kQK / 2; ++j)
      s += (b[i].qs[j] & 0xF) * a.q[i * kQK + j] + (b[i].qs[j] >> 4) * a.q[i * kQK + j + 16];
    acc += f16_to_f32(b[i].d) * (a.d[i] * static_cast<float>(s - 8 * a.sum[i]));
  }
  return acc;
}

float dot_q4_k(const uint8_t* w, const IntActView& a, int64_t n) {
  const auto* b = reinterpret_cast<const BlockQ4_K*>(w);
  float acc = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, mn;
      k_scale_min(j, b[i].scales, &sc, &mn);
      const uint8_t* q = b[i].qs + 32 * (j / 2);
      const int shift = (j % 2) * 4;
      const int64_t blk = i * 8 + j;
      int32_t s = 0;
      for (int l = 0; l < 32; ++l) s += ((q[l] >> shift) & 0xF) * a.q[blk * 32 + l];
      acc += d * sc * a.d[blk] * static_cast<float>(s) - dmin * mn * a.d[blk] * static_cast<float>(a.sum[blk]);
    }
  }
  return acc;
}

// A Q6_K super-block's 256 codes, 0..63 (offset 32), in element order.
void q6_k_codes(const BlockQ6_K& b, uint8_t* q) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    for (int l = 0; l < 32; ++l) {
      q[128 * h + l] = static_cast<uint8_t>((ql[l] & 0xF) | ((qh[l] & 3) << 4));
      q[128 * h + l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
      q[128 * h + l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      q[128 * h + l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
  }
}

float dot_q6_k(const uint8_t* w, const IntActView& a, int64_t n) {
  const auto* b = reinterpret_cast<const BlockQ6_K*>(w);
  float acc = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = f16_to_f32(b[i].d);
    uint8_t q[kQK_K];
    q6_k_codes(b[i], q);
    for (int s = 0; s < 16; ++s) {  // sub-blocks of 16, codes 0..63 with offset 32
      const int64_t e = i * kQK_K + s * 16;
      int32_t dot = 0, sx = 0;
      for (int l = 0; l < 16; ++l) {
        dot += q[s * 16 + l] * a.q[e + l];
        sx += a.q[e + l];
      }
      acc += d * b[i].scales[s] * a.d[e / kActBlock] * static_cast<float>(dot - 32 * sx);
    }
  }
  return acc;
}

// Rows of stored blocks against prepared rows read through kView (int_act_view or super_view).
template <auto kView, auto kDot>
void int_tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
              int64_t tokens, int64_t n) {
  for (int64_t t = 0; t < tokens; ++t) {
    const auto a = kView(px + t * ldx, n);
    for (int64_t r = 0; r < rows; ++r) y[t * ldy + r] = kDot(w + r * ldw, a, n);
  }
}

// q4_0, q8_0, q4_k and q6_k interleaved 16 rows at a time: each row regathered into its stored blocks,
// then the stored type's dot. w is the first row of a group of 16.
template <DType kType, auto kView, auto kDot>
void interleaved_tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px,
                      size_t ldx, int64_t tokens, int64_t n) {
  std::vector<uint8_t> row(ldw);
  for (int64_t r = 0; r < rows; ++r) {
    deinterleave_row(kType, w, r, n, row.data());
    for (int64_t t = 0; t < tokens; ++t) y[t * ldy + r] = kDot(row.data(), kView(px + t * ldx, n), n);
  }
}

// A prepared row with one activation scale per super-block (kernels/super_act.h).
struct SuperView {
  const uint8_t* p;
  const int8_t* q(int64_t i) const { return reinterpret_cast<const int8_t*>(p + i * kSuperActBytes); }
  float d(int64_t i) const { return read<float>(i, kSuperActScale); }
  int16_t sum32(int64_t i, int j) const { return read<int16_t>(i, kSuperActSums32 + 2 * j); }
  int16_t sum16(int64_t i, int j) const { return read<int16_t>(i, kSuperActSums16 + 2 * j); }
  template <typename T>
  T read(int64_t i, size_t offset) const {
    T v;
    std::memcpy(&v, p + i * kSuperActBytes + offset, sizeof v);
    return v;
  }
};

SuperView super_view(const uint8_t* px, int64_t) { return {px}; }

// The twin of kernels that take Q4_K activations with one scale per super-block
// (kernels/super_act.h): sub-block dots times their scales and mins summed in integers,
// one float step per super-block. w is one row in the stored layout.
float dot_q4_k_super(const uint8_t* w, const SuperView& a, int64_t n) {
  const auto* b = reinterpret_cast<const BlockQ4_K*>(w);
  float acc = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* x = a.q(i);
    int32_t sums = 0, mins = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, mn;
      k_scale_min(j, b[i].scales, &sc, &mn);
      const uint8_t* codes = b[i].qs + 32 * (j / 2);
      const int shift = (j % 2) * 4;
      int32_t s = 0;
      for (int l = 0; l < 32; ++l) s += ((codes[l] >> shift) & 0xF) * x[32 * j + l];
      sums += sc * s;
      mins += mn * a.sum32(i, j);
    }
    const float dx = a.d(i);
    acc += f16_to_f32(b[i].d) * dx * static_cast<float>(sums) - f16_to_f32(b[i].dmin) * dx * static_cast<float>(mins);
  }
  return acc;
}

// The same for Q6_K: sixteen sub-block dots of codes 0..63, the offset 32 removed through the
// activations' sums of 16, all times their scales in integers.
float dot_q6_k_super(const uint8_t* w, const SuperView& a, int64_t n) {
  const auto* b = reinterpret_cast<const BlockQ6_K*>(w);
  float acc = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* x = a.q(i);
    uint8_t q[kQK_K];
    q6_k_codes(b[i], q);
    int32_t sum = 0;
    for (int s = 0; s < 16; ++s) {
      int32_t dot = 0;
      for (int l = 0; l < 16; ++l) dot += q[16 * s + l] * x[16 * s + l];
      sum += b[i].scales[s] * (dot - 32 * a.sum16(i, s));
    }
    acc += f16_to_f32(b[i].d) * a.d(i) * static_cast<float>(sum);
  }
  return acc;
}

#define FLOAT_KERNEL(T, NAME, MULT) \
  WeightKernel { "" NAME "/scalar", T, Isa::kScalar, MULT, float_bytes, float_prepare, float_tile<T> }

const WeightKernel kKernels[] = {
    FLOAT_KERNEL(DType::kF32, "f32", 1),
    FLOAT_KERNEL(DType::kF16, "f16", 1),
    FLOAT_KERNEL(DType::kBF16, "bf16", 1),
    FLOAT_KERNEL(DType::kNF4, "nf4", 64),
    FLOAT_KERNEL(DType::kQ4_1, "q4_1", 32),
    FLOAT_KERNEL(DType::kQ5_0, "q5_0", 32),
    FLOAT_KERNEL(DType::kQ5_1, "q5_1", 32),
    FLOAT_KERNEL(DType::kQ2_K, "q2_k", 256),
    FLOAT_KERNEL(DType::kQ3_K, "q3_k", 256),
    FLOAT_KERNEL(DType::kQ5_K, "q5_k", 256),
    {"q8_0/scalar", DType::kQ8_0, Isa::kScalar, 32, int_act_bytes, prepare_int_act, int_tile<int_act_view, dot_q8_0>},
    {"q4_0/scalar", DType::kQ4_0, Isa::kScalar, 32, int_act_bytes, prepare_int_act, int_tile<int_act_view, dot_q4_0>},
    {"q4_0r16/scalar", DType::kQ4_0, Isa::kScalar, 32, int_act_bytes, prepare_int_act,
     interleaved_tile<DType::kQ4_0, int_act_view, dot_q4_0>, 32, RowLayout::kInterleaved16},
    {"q8_0r16/scalar", DType::kQ8_0, Isa::kScalar, 32, int_act_bytes, prepare_int_act,
     interleaved_tile<DType::kQ8_0, int_act_view, dot_q8_0>, 32, RowLayout::kInterleaved16},
    {"q4_k/scalar", DType::kQ4_K, Isa::kScalar, 256, int_act_bytes, prepare_int_act, int_tile<int_act_view, dot_q4_k>},
    {"q4_kr16/scalar", DType::kQ4_K, Isa::kScalar, 256, int_act_bytes, prepare_int_act,
     interleaved_tile<DType::kQ4_K, int_act_view, dot_q4_k>, 32, RowLayout::kInterleaved16},
    // After the one above, so it is the fallback's choice; find_twin() finds it by act_block.
    {"q4_kr16-super/scalar", DType::kQ4_K, Isa::kScalar, 256, super_act_bytes, prepare_super_act,
     interleaved_tile<DType::kQ4_K, super_view, dot_q4_k_super>, 256, RowLayout::kInterleaved16},
    {"q6_k/scalar", DType::kQ6_K, Isa::kScalar, 256, int_act_bytes, prepare_int_act, int_tile<int_act_view, dot_q6_k>},
    {"q6_k-super/scalar", DType::kQ6_K, Isa::kScalar, 256, super_act_bytes, prepare_super_act,
     int_tile<super_view, dot_q6_k_super>, 256},
    {"q6_kr16/scalar", DType::kQ6_K, Isa::kScalar, 256, int_act_bytes, prepare_int_act,
     interleaved_tile<DType::kQ6_K, int_act_view, dot_q6_k>, 32, RowLayout::kInterleaved16},
    {"q6_kr16-super/scalar", DType::kQ6_K, Isa::kScalar, 256, super_act_bytes, prepare_super_act,
     interleaved_tile<DType::kQ6_K, super_view, dot_q6_k_super>, 256, RowLayout::kInterleaved16},
};

}  // namespace

size_t int_act_bytes(int64_t n) {
  const int64_t nb = n / kActBlock;
  return round_up_64(static_cast<size_t>(nb) * 8 + static_cast<size_t>(n));
}

void prepare_int_act(const float* x, int64_t n, uint8_t* out) {
  const int64_t nb = n / kActBlock;
  auto* d = reinterpret_cast<float*>(out);
  auto* sum = reinterpret_cast<int32_t*>(out + nb * 4);
  auto* q = reinterpret_cast<int8_t*>(out + nb * 8);
  for (int64_t b = 0; b < nb; ++b) {
    const ActBlock a = quantize_act_block(x + b * kActBlock, q + b * kActBlock);
    d[b] = a.d;
    sum[b] = a.sum;
  }
}

const WeightKernel* scalar_kernels(size_t* count) {
  *count = sizeof(kKernels) / sizeof(kKernels[0]);
  return kKernels;
}

}  // namespace limarp::kernels
