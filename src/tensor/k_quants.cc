// Quantizers for the K-quant super-block types (Q4_K, Q6_K): a super-block of 256 values in
// sub-blocks, each with its own scale (and min), the scales themselves quantized.
// For every sub-block a range of candidate scales is tried and the one with the least squared
// error kept; then, with the super-block's scale fixed, each sub-block's quantized scale (and
// min) is chosen among its neighbours by the error of the values it finally gives. Slower than
// one absmax pass, and more exact than llama.cpp's quantizers on the same data
// (tests/kernels/quantize_test.cc).
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
  for (int step = -10; step <= 10; ++step) {
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

// Nearest level in [lo, hi], inline: adding a half and truncating a non-negative value rounds
// it, where std::lround would be a library call for every value of every candidate tried.
// NaN gives lo.
template <int kLo, int kHi>
int level(float v) {
  const float t = v - static_cast<float>(kLo) + 0.5f;
  return kLo + (t >= static_cast<float>(kHi - kLo) ? kHi - kLo : t > 0 ? static_cast<int>(t) : 0);
}

// Squared error of x[0..n) stored as levels 0..15 with step s and offset m (x ~= q*s - m).
float error_q4(const float* x, int n, float s, float m) {
  const float inv = s > 0 ? 1.0f / s : 0.0f;
  float e = 0;
  for (int i = 0; i < n; ++i) {
    const float d = static_cast<float>(level<0, 15>((x[i] + m) * inv)) * s - m - x[i];
    e += d * d;
  }
  return e;
}

// Squared error of x[0..n) stored as levels -32..31 with step s.
float error_q6(const float* x, int n, float s) {
  const float inv = s != 0 ? 1.0f / s : 0.0f;
  float e = 0;
  for (int i = 0; i < n; ++i) {
    const float d = static_cast<float>(level<-32, 31>(x[i] * inv)) * s - x[i];
    e += d * d;
  }
  return e;
}

// Best step for x[0..16) with levels -32..31 (any sign: the level of largest magnitude, -32,
// may fall on either side). Candidates map the largest |x| near either end; for each, the
// least-squares step for the levels it gives.
float fit_scale_q6(const float* x, int n) {
  float amax = 0, vmax = 0, sum_xx = 0;
  for (int i = 0; i < n; ++i) {
    sum_xx += x[i] * x[i];
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      vmax = x[i];
    }
  }
  if (amax == 0) return 0.0f;
  float best = vmax / -32.0f;
  double best_err = INFINITY;
  for (int end : {-32, 31})
    for (int step = -10; step <= 10; ++step) {
      const float inv = (static_cast<float>(end) + 0.1f * static_cast<float>(end < 0 ? -step : step)) / vmax;
      float sum_qx = 0, sum_qq = 0;
      for (int i = 0; i < n; ++i) {
        const auto q = static_cast<float>(level<-32, 31>(x[i] * inv));
        sum_qx += q * x[i];
        sum_qq += q * q;
      }
      if (sum_qq <= 0) continue;
      const double err = sum_xx - static_cast<double>(sum_qx) * sum_qx / sum_qq;
      if (err < best_err) {
        best_err = err;
        best = sum_qx / sum_qq;
      }
    }
  return best;
}

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
      // Rounding the 6-bit scale and min separately need not give the least error together.
      float best = error_q4(x + 32 * j, 32, dr * sc[j], dminr * mn[j]);
      const int sc0 = sc[j], mn0 = mn[j];
      for (int a = std::max(sc0 - 1, 0); a <= std::min(sc0 + 1, 63); ++a)
        for (int m = std::max(mn0 - 1, 0); m <= std::min(mn0 + 1, 63); ++m) {
          const float e = error_q4(x + 32 * j, 32, dr * static_cast<float>(a), dminr * static_cast<float>(m));
          if (e < best) {
            best = e;
            sc[j] = static_cast<uint8_t>(a);
            mn[j] = static_cast<uint8_t>(m);
          }
        }
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
      // The levels exactly as error_q4 judged them.
      const float s = dr * sc[j], m = dminr * mn[j], inv = s > 0 ? 1.0f / s : 0.0f;
      for (int l = 0; l < 32; ++l)
        q[32 * j + l] = static_cast<uint8_t>(level<0, 15>((x[32 * j + l] + m) * inv));
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
      scales[s] = fit_scale_q6(x + 16 * s, 16);
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
      int sc = dr != 0 ? level<-128, 127>(scales[s] / dr) : 0;
      // A small sub-block's scale has few integer steps: its neighbours may fit better.
      if (dr != 0) {
        float best = error_q6(x + 16 * s, 16, dr * static_cast<float>(sc));
        const int sc0 = sc;
        for (int c : {sc0 - 1, sc0 + 1}) {
          if (c < -128 || c > 127) continue;
          const float e = error_q6(x + 16 * s, 16, dr * static_cast<float>(c));
          if (e < best) {
            best = e;
            sc = c;
          }
        }
      }
      b.scales[s] = static_cast<int8_t>(sc);
      const float step = dr * static_cast<float>(sc), inv = step != 0 ? 1.0f / step : 0.0f;
      for (int l = 0; l < 16; ++l) q[16 * s + l] = static_cast<uint8_t>(level<-32, 31>(x[16 * s + l] * inv) + 32);
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
