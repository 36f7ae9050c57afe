#include "tensor/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/half.h"
#include "tensor/quant_blocks.h"

namespace limarp {
namespace {

void dequant_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kQK; ++j) y[i * kQK + j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void dequant_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[i * kQK + j] = static_cast<float>((b[i].qs[j] & 0xF) - 8) * d;
      y[i * kQK + j + 16] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequant_q4_1(const BlockQ4_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    for (int j = 0; j < kQK / 2; ++j) {
      y[i * kQK + j] = static_cast<float>(b[i].qs[j] & 0xF) * d + m;
      y[i * kQK + j + 16] = static_cast<float>(b[i].qs[j] >> 4) * d + m;
    }
  }
}

template <typename Block, bool kHasMin>
void dequant_q5(const Block* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    float m = 0;
    if constexpr (kHasMin) m = f16_to_f32(b[i].m);
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, 4);
    for (int j = 0; j < kQK / 2; ++j) {
      const int h0 = ((qh >> j) << 4) & 0x10;
      const int h1 = (qh >> (j + 12)) & 0x10;
      int x0 = (b[i].qs[j] & 0xF) | h0;
      int x1 = (b[i].qs[j] >> 4) | h1;
      if constexpr (!kHasMin) {
        x0 -= 16;
        x1 -= 16;
      }
      y[i * kQK + j] = static_cast<float>(x0) * d + m;
      y[i * kQK + j + 16] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequant_q4_k(const BlockQ4_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    for (int j = 0; j < 4; ++j) {  // 64 elements per step: two sub-blocks sharing 32 bytes
      uint8_t sc, mn;
      k_scale_min(2 * j, b[i].scales, &sc, &mn);
      const float d1 = d * sc, m1 = dmin * mn;
      k_scale_min(2 * j + 1, b[i].scales, &sc, &mn);
      const float d2 = d * sc, m2 = dmin * mn;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
      q += 32;
    }
  }
}

void dequant_q5_k(const BlockQ5_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    const uint8_t* ql = b[i].qs;
    const uint8_t* qh = b[i].qh;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < 4; ++j) {
      uint8_t sc, mn;
      k_scale_min(2 * j, b[i].scales, &sc, &mn);
      const float d1 = d * sc, m1 = dmin * mn;
      k_scale_min(2 * j + 1, b[i].scales, &sc, &mn);
      const float d2 = d * sc, m2 = dmin * mn;
      for (int l = 0; l < 32; ++l)
        *y++ = d1 * static_cast<float>((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l)
        *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
      ql += 32;
      u1 = static_cast<uint8_t>(u1 << 2);
      u2 = static_cast<uint8_t>(u2 << 2);
    }
  }
}

void dequant_q6_k(const BlockQ6_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    const uint8_t* ql = b[i].ql;
    const uint8_t* qh = b[i].qh;
    const int8_t* sc = b[i].scales;
    for (int n = 0; n < kQK_K; n += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is] * static_cast<float>(q1);
        y[l + 32] = d * sc[is + 2] * static_cast<float>(q2);
        y[l + 64] = d * sc[is + 4] * static_cast<float>(q3);
        y[l + 96] = d * sc[is + 6] * static_cast<float>(q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

void dequant_q2_k(const BlockQ2_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    int is = 0;
    for (int n = 0; n < kQK_K; n += 128) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = b[i].scales[is++];
          const float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l + 16 * half] >> shift) & 3) - ml;
        }
      }
      q += 32;
    }
  }
}

void dequant_q3_k(const BlockQ3_K* b, float* y, int64_t nb) {
  constexpr uint32_t kMask1 = 0x03030303, kMask2 = 0x0f0f0f0f;
  for (int64_t i = 0; i < nb; ++i) {
    const float d_all = f16_to_f32(b[i].d);
    uint32_t aux[4];
    std::memcpy(aux, b[i].scales, 12);
    const uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kMask2) | (((tmp >> 4) & kMask1) << 4);
    aux[3] = ((aux[1] >> 4) & kMask2) | (((tmp >> 6) & kMask1) << 4);
    aux[0] = (aux[0] & kMask2) | (((tmp >> 0) & kMask1) << 4);
    aux[1] = (aux[1] & kMask2) | (((tmp >> 2) & kMask1) << 4);
    int8_t scales[16];
    std::memcpy(scales, aux, 16);
    const uint8_t* q = b[i].qs;
    const uint8_t* hm = b[i].hmask;
    uint8_t m = 1;
    int is = 0;
    for (int n = 0; n < kQK_K; n += 128) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half) {
          const float dl = d_all * static_cast<float>(scales[is++] - 32);
          for (int l = 0; l < 16; ++l) {
            const int idx = l + 16 * half;
            const int v = ((q[idx] >> shift) & 3) - ((hm[idx] & m) ? 0 : 4);
            *y++ = dl * static_cast<float>(v);
          }
        }
        m = static_cast<uint8_t>(m << 1);
      }
      q += 32;
    }
  }
}

void dequant_nf4(const BlockNF4* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    for (int j = 0; j < kNF4Block / 2; ++j) {
      y[i * kNF4Block + 2 * j] = kNF4Codes[b[i].qs[j] >> 4] * b[i].absmax;
      y[i * kNF4Block + 2 * j + 1] = kNF4Codes[b[i].qs[j] & 0xF] * b[i].absmax;
    }
  }
}

void quant_q8_0(const float* x, BlockQ8_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[i * kQK + j]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    for (int j = 0; j < kQK; ++j) b[i].qs[j] = static_cast<int8_t>(std::lround(x[i * kQK + j] * id));
  }
}

void quant_q4_0(const float* x, BlockQ4_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    // The scale maps the value of largest magnitude to -8, using all 16 levels on that side.
    float amax = 0, vmax = 0;
    for (int j = 0; j < kQK; ++j) {
      const float v = x[i * kQK + j];
      if (std::fabs(v) > amax) {
        amax = std::fabs(v);
        vmax = v;
      }
    }
    const float d = vmax / -8.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>(x[i * kQK + j] * id + 8.5f));
      const int q1 = std::min(15, static_cast<int>(x[i * kQK + j + 16] * id + 8.5f));
      b[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

uint8_t nearest_nf4(float v) {
  // Codes are sorted: pick by midpoints, as bitsandbytes does.
  int best = 0;
  for (int k = 1; k < 16; ++k)
    if (v > 0.5f * (kNF4Codes[k - 1] + kNF4Codes[k])) best = k;
  return static_cast<uint8_t>(best);
}

void quant_nf4(const float* x, BlockNF4* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    float amax = 0;
    for (int j = 0; j < kNF4Block; ++j) amax = std::max(amax, std::fabs(x[i * kNF4Block + j]));
    b[i].absmax = amax;
    const float inv = amax != 0 ? 1.0f / amax : 0.0f;
    for (int j = 0; j < kNF4Block / 2; ++j) {
      const uint8_t hi = nearest_nf4(x[i * kNF4Block + 2 * j] * inv);
      const uint8_t lo = nearest_nf4(x[i * kNF4Block + 2 * j + 1] * inv);
      b[i].qs[j] = static_cast<uint8_t>((hi << 4) | lo);
    }
  }
}

}  // namespace

void quantize_q4_k(const float* x, void* dst, int64_t n);  // k_quants.cc
void quantize_q6_k(const float* x, void* dst, int64_t n);

bool can_dequantize(DType type) {
  switch (type) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kQ8_0: case DType::kQ4_0:
    case DType::kQ4_1: case DType::kQ5_0: case DType::kQ5_1: case DType::kQ2_K: case DType::kQ3_K:
    case DType::kQ4_K: case DType::kQ5_K: case DType::kQ6_K: case DType::kNF4:
      return true;
    default:
      return false;
  }
}

bool can_quantize(DType type) {
  switch (type) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kQ8_0: case DType::kQ4_0:
    case DType::kQ4_K: case DType::kQ6_K: case DType::kNF4:
      return true;
    default:
      return false;
  }
}

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
  const int64_t nb = n / dtype_traits(type).block_elems;
  switch (type) {
    case DType::kF32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
    case DType::kF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    case DType::kBF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case DType::kQ8_0: return dequant_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
    case DType::kQ4_0: return dequant_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
    case DType::kQ4_1: return dequant_q4_1(static_cast<const BlockQ4_1*>(src), dst, nb);
    case DType::kQ5_0: return dequant_q5<BlockQ5_0, false>(static_cast<const BlockQ5_0*>(src), dst, nb);
    case DType::kQ5_1: return dequant_q5<BlockQ5_1, true>(static_cast<const BlockQ5_1*>(src), dst, nb);
    case DType::kQ2_K: return dequant_q2_k(static_cast<const BlockQ2_K*>(src), dst, nb);
    case DType::kQ3_K: return dequant_q3_k(static_cast<const BlockQ3_K*>(src), dst, nb);
    case DType::kQ4_K: return dequant_q4_k(static_cast<const BlockQ4_K*>(src), dst, nb);
    case DType::kQ5_K: return dequant_q5_k(static_cast<const BlockQ5_K*>(src), dst, nb);
    case DType::kQ6_K: return dequant_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb);
    case DType::kNF4: return dequant_nf4(static_cast<const BlockNF4*>(src), dst, nb);
    default: LIMARP_CHECK(false && "dequantize_row: unsupported type");
  }
}

void quantize_row(DType type, const float* src, void* dst, int64_t n) {
  const int64_t nb = n / dtype_traits(type).block_elems;
  switch (type) {
    case DType::kF32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
    case DType::kF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
      return;
    }
    case DType::kBF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::kQ8_0: return quant_q8_0(src, static_cast<BlockQ8_0*>(dst), nb);
    case DType::kQ4_0: return quant_q4_0(src, static_cast<BlockQ4_0*>(dst), nb);
    case DType::kQ4_K: return quantize_q4_k(src, dst, n);
    case DType::kQ6_K: return quantize_q6_k(src, dst, n);
    case DType::kNF4: return quant_nf4(src, static_cast<BlockNF4*>(dst), nb);
    default: LIMARP_CHECK(false && "quantize_row: unsupported type");
  }
}

Result<Tensor> dequantize(const TensorView& view) {
  if (!can_dequantize(view.type)) return make_error("cannot dequantize type {}", dtype_name(view.type));
  Tensor out = Tensor::zeros_f32(view.shape);
  const int64_t rows = view.rows(), cols = view.cols();
  for (int64_t r = 0; r < rows; ++r) dequantize_row(view.type, view.row(r), out.f32() + r * cols, cols);
  return out;
}

Result<Tensor> quantize(const float* src, const Shape& shape, DType type) {
  if (!can_quantize(type)) return make_error("cannot quantize to type {}", dtype_name(type));
  const int64_t cols = shape.empty() ? 1 : shape.back();
  if (!row_bytes(type, cols))
    return make_error("rows of {} elements are not a whole number of {} blocks ({} elements each)", cols,
                      dtype_name(type), dtype_traits(type).block_elems);
  Tensor out(type, shape);
  const int64_t rows = cols == 0 ? 0 : shape_elements(shape) / cols;
  const uint64_t stride = *row_bytes(type, cols);
  for (int64_t r = 0; r < rows; ++r) quantize_row(type, src + r * cols, out.bytes() + r * stride, cols);
  return out;
}

Result<Tensor> convert_tensor(const TensorView& view, DType type) {
  if (view.type == type) {
    Tensor out(type, view.shape);
    std::memcpy(out.bytes(), view.data, view.nbytes);
    return out;
  }
  LIMARP_ASSIGN_OR_RETURN(Tensor f, dequantize(view));
  if (type == DType::kF32) return f;
  return quantize(f.f32(), view.shape, type);
}

}  // namespace limarp
