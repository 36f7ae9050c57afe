// QLoRA's double quantization of NF4 scales: every block's absmax moves by at most half an
// 8-bit step of its group (max |absmax - mean| / 254), never below zero, and the storage the
// memory plan counts is 4 bits per weight plus 8 bits per 64 weights plus one f32 per group
// of 256 blocks and one offset.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/rng.h"
#include "tensor/nf4_double_quant.h"
#include "tensor/quantize.h"

namespace limarp {
namespace {

TEST(Nf4DoubleQuant, ScalesStayWithinHalfAnEightBitStep) {
  Rng rng(21);
  const int64_t rows = 40, cols = 640;  // 400 blocks: one full group of 256 and a partial one
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = static_cast<float>(rng.normal()) * (rng.uniform() < 0.01 ? 6.0f : 1.0f);
  Tensor q = std::move(quantize(w.data(), {rows, cols}, DType::kNF4).value());
  auto* blocks = reinterpret_cast<BlockNF4*>(q.bytes());
  const int64_t n = q.elements() / kNF4Block;
  std::vector<float> before(static_cast<size_t>(n));
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += before[static_cast<size_t>(i)] = blocks[i].absmax;
  mean /= static_cast<double>(n);
  const float offset = nf4_double_quantize(blocks, n);
  EXPECT_NEAR(offset, mean, 1e-5 * mean);
  for (int64_t g = 0; g < n; g += kNF4ScaleGroup) {
    const int64_t end = std::min(n, g + kNF4ScaleGroup);
    double spread = 0;
    for (int64_t i = g; i < end; ++i) spread = std::max(spread, static_cast<double>(std::fabs(before[static_cast<size_t>(i)] - offset)));
    for (int64_t i = g; i < end; ++i) {
      EXPECT_LE(std::fabs(blocks[i].absmax - before[static_cast<size_t>(i)]), spread / 254.0 * 1.0001 + 1e-7) << i;
      EXPECT_GE(blocks[i].absmax, 0.0f);
    }
  }
  // The dequantized tensor is still close to the weights (NF4's own error dominates).
  const Tensor back = std::move(dequantize(q.view()).value());
  double err = 0, ref = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    err += (back.f32()[i] - w[i]) * (back.f32()[i] - w[i]);
    ref += static_cast<double>(w[i]) * w[i];
  }
  EXPECT_LT(std::sqrt(err / ref), 0.12);
  // Storage: 4.5 bits per weight without, ~4.127 with double quantization.
  const int64_t elems = rows * cols;
  EXPECT_EQ(nf4_storage_bytes(elems, false), static_cast<uint64_t>(elems / 2 + n * 4));
  EXPECT_EQ(nf4_storage_bytes(elems, true), static_cast<uint64_t>(elems / 2 + n + 2 * 4 + 4));
}

}  // namespace
}  // namespace limarp
