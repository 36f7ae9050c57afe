// The two attention paths agree: many queries at once (matrix products, causal mask) and one
// query at a time over the cache, with grouped-query heads and an odd number of cached keys.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/rng.h"
#include "kernels/attention.h"

namespace limarp::kernels {
namespace {

TEST(Attention, BlockedPromptPathEqualsTokenByToken) {
  const AttentionShape s{6, 2, 16};
  const int64_t dim = s.n_heads * s.head_dim, kv = s.n_kv_heads * s.head_dim;
  const int64_t pos0 = 7, T = 37;  // 7 cached keys, then 37 new queries (blocked path)
  ASSERT_GE(T, kBlockedAttentionMinTokens);
  Rng rng(4);
  std::vector<float> q(static_cast<size_t>(T * dim)), k(static_cast<size_t>((pos0 + T) * kv)), v(k.size());
  for (auto& x : q) x = static_cast<float>(rng.normal());
  for (auto& x : k) x = static_cast<float>(rng.normal());
  for (auto& x : v) x = static_cast<float>(rng.normal());
  ThreadPool pool(2);
  std::vector<float> blocked(q.size()), single(q.size());
  attention(blocked.data(), q.data(), k.data(), v.data(), kv, T, pos0, s, pool);
  for (int64_t t = 0; t < T; ++t)
    attention(single.data() + t * dim, q.data() + t * dim, k.data(), v.data(), kv, 1, pos0 + t, s, pool);
  for (size_t i = 0; i < q.size(); ++i) ASSERT_NEAR(blocked[i], single[i], 1e-5) << i;
}

}  // namespace
}  // namespace limarp::kernels
