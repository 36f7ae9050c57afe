// Quantization round trips stay within each type's known error: per-element bounds where the
// format gives one (q8_0, q4_0, nf4, 16-bit floats), and RMS error bounds on Gaussian data for
// the k-quants (whose scales are searched).
#include <gtest/gtest.h>

#include <cmath>

#include "base/half.h"
#include "base/rng.h"
#include "tensor/quant_blocks.h"
#include "tensor/quantize.h"

namespace limarp {
namespace {

std::vector<float> gaussian(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

std::vector<float> round_trip(const std::vector<float>& x, DType type) {
  auto q = quantize(x.data(), {1, static_cast<int64_t>(x.size())}, type);
  EXPECT_TRUE(q.ok());
  auto f = dequantize(q->view());
  return {f->f32_span().begin(), f->f32_span().end()};
}

double block_amax(const std::vector<float>& x, size_t i, size_t block) {
  double m = 0;
  for (size_t j = i / block * block; j < (i / block + 1) * block; ++j) m = std::max(m, std::fabs(double(x[j])));
  return m;
}

TEST(Quantize, PerElementBounds) {
  const auto x = gaussian(4096, 1);
  const auto q8 = round_trip(x, DType::kQ8_0);
  const auto q4 = round_trip(x, DType::kQ4_0);
  const auto nf4 = round_trip(x, DType::kNF4);
  double max_gap = 0;
  for (int k = 1; k < 16; ++k) max_gap = std::max(max_gap, double(kNF4Codes[k] - kNF4Codes[k - 1]));
  for (size_t i = 0; i < x.size(); ++i) {
    const double a32 = block_amax(x, i, 32), a64 = block_amax(x, i, 64);
    // Scales are stored as f16 (relative error 2^-11), hence the small extra term.
    EXPECT_LE(std::fabs(q8[i] - x[i]), a32 / 127 / 2 + a32 * 1e-3) << i;
    EXPECT_LE(std::fabs(q4[i] - x[i]), a32 / 8 + a32 * 1e-3) << i;
    EXPECT_LE(std::fabs(nf4[i] - x[i]), a64 * max_gap / 2 + 1e-6) << i;
  }
  const auto f16 = round_trip(x, DType::kF16), bf16 = round_trip(x, DType::kBF16);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_LE(std::fabs(f16[i] - x[i]), std::fabs(x[i]) * 0x1p-11 + 0x1p-25);
    EXPECT_LE(std::fabs(bf16[i] - x[i]), std::fabs(x[i]) * 0x1p-8);
  }
}

TEST(Quantize, RmsErrorOnGaussianData) {
  const auto x = gaussian(256 * 64, 2);
  auto rms = [&](DType t) {
    const auto y = round_trip(x, t);
    double s = 0;
    for (size_t i = 0; i < x.size(); ++i) s += (y[i] - x[i]) * (y[i] - x[i]);
    return std::sqrt(s / static_cast<double>(x.size()));
  };
  // Measured: q8_0 0.0045, q6_k 0.018, q4_k 0.065, q4_0 0.084, nf4 0.080. Bounds leave ~25 %.
  EXPECT_LT(rms(DType::kQ8_0), 0.006);
  EXPECT_LT(rms(DType::kQ6_K), 0.023);
  EXPECT_LT(rms(DType::kQ4_K), 0.082);
  EXPECT_LT(rms(DType::kQ4_0), 0.105);
  EXPECT_LT(rms(DType::kNF4), 0.10);
}

TEST(Quantize, HalfConversionsAreExactAndRoundToEven) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto u = static_cast<uint16_t>(h);
    const float f = f16_to_f32(u);
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_f16(f), u) << h;
    EXPECT_EQ(f32_to_bf16(bf16_to_f32(u)), u) << h;
  }
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f), f32_to_f16(1.0f));            // tie to even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * 0x1p-11f), f32_to_f16(1.0f + 0x1p-9f));  // tie to even, up
  EXPECT_EQ(f32_to_f16(70000.0f), 0x7c00);                              // overflow to inf
}

}  // namespace
}  // namespace limarp
