// Quantizers for the K-quant super-block types (Q4_K, Q6_K): a super-block of 256 values in
// sub-blocks, each with its own scale (and min), the scales themselves quantized.
// For every sub-block a handful of candidate scales is tried and the one with the least
// squared error kept: a little slower than a single absmax pass, clearly more accurate.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/half.h"
#include "tensor/quant_blocks.h"

namespace limarp {
namespace {

struct ScaleMin {
  float scale;
  float min;  // subtracted: x ~= q * scale - min, min >= 0
};

// Best (scale, min) for x[0..n) with levels 0..nmax.
ScaleMin fit_scale_min(const float* x, int n, int nmax) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo = std::min(lo, 0.0f);  // min must be >= 0 after negation
  if (hi == lo) return {0.0f, -lo};
  ScaleMin best{(hi - lo) / static_cast<float>(nmax), -lo};
  float sum_x = 0, sum_xx = 0;
  for (int i = 0; i < n; ++i) {
    sum_x += x[i];
    sum_xx += x[i] * x[i];
  }
  double best_err = INFINITY;
  for (int step = -4; step <= 8; ++step) {
    const float scale = (hi - lo) / (static_cast<float>(nmax) + 0.1f * static_cast<float>(step));
    const float inv = 1.0f / scale;
    // With the levels fixed, the least-squares min for this scale. (Sums of levels are exact
    // in float: at most 256 * 63 * 63.)
    float sum_q = 0, sum_qq = 0, sum_qx = 0;
    for (int i = 0; i < n; ++i) {
      // x - lo >= 0, so adding a half and truncating rounds to nearest; inline, unlike
      // std::lround's library call, which took a fifth of a Q4_K quantization. NaN gives 0.
      const float v = (x[i] - lo) * inv + 0.5f;
      const float q = static_cast<float>(v >= static_cast<float>(nmax) ? nmax : v > 0 ? static_cast<int>(v) : 0);
      sum_q += q;
      sum_qq += q * q;
      sum_qx += q * x[i];
    }
    // Solve x ~= a*q + b in least squares; keep b <= 0 (min >= 0).
    const float det = static_cast<float>(n) * sum_qq - sum_q * sum_q;
    float a = scale, b = lo;
    if (det > 0) {
      a = (static_cast<float>(n) * sum_qx - sum_q * sum_x) / det;
      b = (sum_x - a * sum_q) / static_cast<float>(n);
      if (b > 0 || a <= 0) {
        a = scale;
        b = lo;
      }
    }
    // sum((a*q + b - x)^2) expanded into the sums above, so the levels need no second pass
    // (in double: the terms are much larger than their difference).
    const double da = a, db = b;
    const double err = da * da * sum_qq + 2 * da * db * sum_q - 2 * da * sum_qx + n * db * db - 2 * db * sum_x + sum_xx;
    if (err < best_err) {
      best_err = err;
      best = {a, -b};
    }
  }
  return best;
}

uint8_t to_u6(float v, float inv) { return static_cast<uint8_t>(std::clamp<long>(std::lround(v * inv), 0, 63)); }

}  // namespace

void quantize_q4_k(const float* x, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ4_K*>(dst);
  for (int64_t bi = 0; bi < n / kQK_K; ++bi, x += kQK_K) {
    BlockQ4_K& b = blocks[bi];
    ScaleMin sm[8];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
      sm[j] = fit_scale_min(x + 32 * j, 32, 15);
      max_scale = std::max(max_scale, sm[j].scale);
      max_min = std::max(max_min, sm[j].min);
    }
    const float d = max_scale / 63.0f, dmin = max_min / 63.0f;
    b.d = f32_to_f16(d);
    b.dmin = f32_to_f16(dmin);
    // Quantize with the rounded 16-bit super-scales the reader will see.
    const float dr = f16_to_f32(b.d), dminr = f16_to_f32(b.dmin);
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = dr > 0 ? to_u6(sm[j].scale, 1.0f / dr) : 0;
      mn[j] = dminr > 0 ? to_u6(sm[j].min, 1.0f / dminr) : 0;
    }
    std::memset(b.scales, 0, sizeof(b.scales));
    for (int j = 0; j < 4; ++j) {
      b.scales[j] = sc[j];
      b.scales[j + 4] = mn[j];
    }
    for (int j = 4; j < 8; ++j) {
      b.scales[j + 4] = static_cast<uint8_t>((sc[j] & 0xF) | ((mn[j] & 0xF) << 4));
      b.scales[j - 4] = static_cast<uint8_t>(b.scales[j - 4] | ((sc[j] >> 4) << 6));
      b.scales[j] = static_cast<uint8_t>(b.scales[j] | ((mn[j] >> 4) << 6));
    }
    uint8_t q[kQK_K];
    for (int j = 0; j < 8; ++j) {
      const float s = dr * sc[j], m = dminr * mn[j];
      for (int l = 0; l < 32; ++l) {
        const float v = s > 0 ? (x[32 * j + l] + m) / s : 0.0f;
        q[32 * j + l] = static_cast<uint8_t>(std::clamp<long>(std::lround(v), 0, 15));
      }
    }
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < 32; ++l)
        b.qs[32 * j + l] = static_cast<uint8_t>(q[64 * j + l] | (q[64 * j + 32 + l] << 4));
  }
}

void quantize_q6_k(const float* x, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ6_K*>(dst);
  for (int64_t bi = 0; bi < n / kQK_K; ++bi, x += kQK_K) {
    BlockQ6_K& b = blocks[bi];
    float scales[16];
    float max_abs_scale = 0, max_scale = 0;
    for (int s = 0; s < 16; ++s) {
      // Map the value of largest magnitude to -32 (the asymmetric end of -32..31).
      float amax = 0, vmax = 0;
      for (int l = 0; l < 16; ++l) {
        const float v = x[16 * s + l];
        if (std::fabs(v) > amax) {
          amax = std::fabs(v);
          vmax = v;
        }
      }
      scales[s] = vmax / -32.0f;
      if (std::fabs(scales[s]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[s]);
        max_scale = scales[s];
      }
    }
    const float d = max_scale / -128.0f;
    b.d = f32_to_f16(d);
    const float dr = f16_to_f32(b.d);
    uint8_t q[kQK_K];
    for (int s = 0; s < 16; ++s) {
      const int sc = dr != 0 ? std::clamp<int>(static_cast<int>(std::lround(scales[s] / dr)), -128, 127) : 0;
      b.scales[s] = static_cast<int8_t>(sc);
      const float step = dr * static_cast<float>(sc);
      for (int l = 0; l < 16; ++l) {
        const long v = step != 0 ? std::lround(x[16 * s + l] / step) : 0;
        q[16 * s + l] = static_cast<uint8_t>(std::clamp<long>(v, -32, 31) + 32);
      }
    }
    uint8_t* ql = b.ql;
    uint8_t* qh = b.qh;
    for (int half = 0; half < kQK_K; half += 128) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = q[half + l], q2 = q[half + l + 32], q3 = q[half + l + 64], q4 = q[half + l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
      ql += 64;
      qh += 32;
    }
  }
}

}  // namespace limarp
