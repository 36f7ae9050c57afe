// The two attention paths agree: many queries at once (matrix products, causal mask) and one
// query at a time over the cache, with grouped-query heads and an odd number of cached keys,
// for both cache element types; an f16 cache gives what f32 gives on the same rounded values.
// The value-row kernel under the decode path matches its scalar twin on odd shapes (the scores
// use the f32/f16 weight kernels, tested with the others).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "base/half.h"
#include "base/rng.h"
#include "kernels/attention.h"
#include "kernels/kv_rows.h"
#include "kernels/kv_heads.h"

namespace limarp::kernels {
namespace {

std::vector<float> normal_values(Rng& rng, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

TEST(Attention, BlockedPromptPathEqualsTokenByToken) {
  const AttentionShape s{6, 2, 16};
  const int64_t dim = s.n_heads * s.head_dim, kv = s.n_kv_heads * s.head_dim;
  const int64_t pos0 = 7, T = 70;  // 7 cached keys, then 70 new queries: three blocks, the last partial
  ASSERT_GE(T, kBlockedAttentionMinTokens);
  Rng rng(4);
  const std::vector<float> q = normal_values(rng, T * dim), k = normal_values(rng, (pos0 + T) * kv),
                           v = normal_values(rng, (pos0 + T) * kv);
  ThreadPool pool(2);
  for (DType type : {DType::kF32, DType::kF16}) {
    const HeadMajor kh(k, pos0 + T, s.n_kv_heads, s.head_dim, type), vh(v, pos0 + T, s.n_kv_heads, s.head_dim, type);
    std::vector<float> blocked(q.size()), single(q.size());
    attention(blocked.data(), q.data(), kh.view(), vh.view(), T, pos0, s, pool);
    for (int64_t t = 0; t < T; ++t)
      attention(single.data() + t * dim, q.data() + t * dim, kh.view(), vh.view(), 1, pos0 + t, s, pool);
    for (size_t i = 0; i < q.size(); ++i) ASSERT_NEAR(blocked[i], single[i], 1e-5) << dtype_name(type) << " " << i;
  }
}

TEST(Attention, HalfCacheEqualsFloatCacheOfTheRoundedValues) {
  const AttentionShape s{8, 2, 64};
  const int64_t dim = s.n_heads * s.head_dim, kv = s.n_kv_heads * s.head_dim, n = 45;
  Rng rng(9);
  const std::vector<float> q = normal_values(rng, 3 * dim);
  std::vector<float> k = normal_values(rng, n * kv), v = normal_values(rng, n * kv);
  for (auto* x : {&k, &v})
    for (float& e : *x) e = f16_to_f32(f32_to_f16(e));
  const HeadMajor k16(k, n, s.n_kv_heads, s.head_dim, DType::kF16), v16(v, n, s.n_kv_heads, s.head_dim, DType::kF16);
  const HeadMajor k32(k, n, s.n_kv_heads, s.head_dim, DType::kF32), v32(v, n, s.n_kv_heads, s.head_dim, DType::kF32);
  ThreadPool pool(2);
  std::vector<float> half(q.size()), full(q.size());
  attention(half.data(), q.data(), k16.view(), v16.view(), 3, n - 3, s, pool);
  attention(full.data(), q.data(), k32.view(), v32.view(), 3, n - 3, s, pool);
  for (size_t i = 0; i < q.size(); ++i) ASSERT_NEAR(half[i], full[i], 1e-5) << i;
}

// Quantized caches: attention over q8_0 / q4_0 keys and values equals attention over an f32
// cache of the same values dequantized, up to what quantizing the query to int8 for the key
// products changes (per 32-element block at most half a step of max|q|/127 per element).
TEST(Attention, QuantizedCacheEqualsFloatCacheOfTheDequantizedValues) {
  const AttentionShape s{8, 2, 128};
  const int64_t dim = s.n_heads * s.head_dim, kv = s.n_kv_heads * s.head_dim, n = 70;
  ThreadPool pool(2);
  for (DType type : {DType::kQ8_0, DType::kQ4_0}) {
    Rng rng(10);
    const std::vector<float> q = normal_values(rng, 3 * dim);
    std::vector<float> k = normal_values(rng, n * kv), v = normal_values(rng, n * kv);
    const HeadMajor kq(k, n, s.n_kv_heads, s.head_dim, type), vq(v, n, s.n_kv_heads, s.head_dim, type);
    for (auto* x : {&k, &v}) {
      std::vector<uint8_t> block(kv_bytes(type, x->size()));
      store_kv_row_scalar(block.data(), type, x->data(), static_cast<int64_t>(x->size()));
      load_kv_row_scalar(x->data(), block.data(), type, static_cast<int64_t>(x->size()));
    }
    const HeadMajor k32(k, n, s.n_kv_heads, s.head_dim, DType::kF32), v32(v, n, s.n_kv_heads, s.head_dim, DType::kF32);
    for (int64_t T : {int64_t{1}, int64_t{3}, int64_t{20}}) {
      std::vector<float> got(static_cast<size_t>(T * dim)), want(got.size());
      attention(got.data(), q.data(), kq.view(), vq.view(), T, n - T, s, pool);
      attention(want.data(), q.data(), k32.view(), v32.view(), T, n - T, s, pool);
      double worst = 0;
      for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(got[i] - want[i])));
      EXPECT_LT(worst, 0.03) << dtype_name(type) << " T=" << T;
    }
  }
}

TEST(KvRows, WeightedSumMatchesItsScalarTwinOnOddShapes) {
  Rng rng(11);
  for (DType type : {DType::kF32, DType::kF16, DType::kQ8_0, DType::kQ4_0})
    for (int64_t dim : {1, 7, 8, 13, 32, 64, 72, 80, 96, 128, 136}) {
      if (!kv_type_fits(type, dim)) continue;
      for (int64_t n : {1, 3, 4, 5, 11}) {
        const std::vector<float> w = normal_values(rng, n), src = normal_values(rng, n * dim);
        std::vector<uint8_t> rows(kv_bytes(type, n * dim));
        store_kv_row_scalar(rows.data(), type, src.data(), n * dim);
        std::vector<float> o(dim), o_ref(dim);
        weighted_row_sum(o.data(), w.data(), rows.data(), type, n, dim);
        weighted_row_sum_scalar(o_ref.data(), w.data(), rows.data(), type, n, dim);
        for (int64_t i = 0; i < dim; ++i)
          ASSERT_NEAR(o[i], o_ref[i], 1e-5 * std::sqrt(n)) << dtype_name(type) << " " << dim << " " << n;
      }
    }
}

TEST(KvRows, HalfConversionsMatchTheScalarTwinsBitForBit) {
  Rng rng(12);
  std::vector<float> x = normal_values(rng, 1000);
  for (size_t i = 0; i < x.size(); ++i) x[i] *= std::ldexp(1.0f, static_cast<int>(i % 48) - 30);  // subnormal..inf
  x.insert(x.end(), {0.0f, -0.0f, 65504.0f, 65520.0f, -1e9f, std::numeric_limits<float>::infinity(), 5.96e-8f,
                     2.98e-8f, 6.1e-5f, 1.0f + 1.0f / 2048});
  const auto n = static_cast<int64_t>(x.size());
  std::vector<uint16_t> h(x.size()), h_ref(x.size());
  store_kv_row(h.data(), DType::kF16, x.data(), n);
  store_kv_row_scalar(h_ref.data(), DType::kF16, x.data(), n);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(h[i], h_ref[i]) << x[i];
  std::vector<float> back(x.size()), back_ref(x.size());
  load_kv_row(back.data(), h.data(), DType::kF16, n);
  load_kv_row_scalar(back_ref.data(), h.data(), DType::kF16, n);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(back[i], back_ref[i]) << i;
}

}  // namespace
}  // namespace limarp::kernels
