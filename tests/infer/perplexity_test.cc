// Perplexity against the torch oracle: with one window covering the sequence, limarp's value
// equals exp(mean NLL) computed from PyTorch's logits of tests/reference/tiny_llama.py; with
// sliding windows every token after the first is scored exactly once.
#include <gtest/gtest.h>

#include <cmath>

#include "infer/perplexity.h"
#include "model/reference_model.h"

namespace limarp {
namespace {

TEST(Perplexity, SingleWindowMatchesTorchLogits) {
  Reference ref = make_reference("ppl", "--seed 51");
  ASSERT_FALSE(ref.tokens.empty());
  auto model = LlamaModel::load(ref.dir);
  ASSERT_TRUE(model.ok());
  const auto logits = ref.logits("f32");
  double nll = 0;
  const auto n = static_cast<int64_t>(ref.tokens.size());
  for (int64_t i = 0; i + 1 < n; ++i) {
    const float* row = logits.data() + i * ref.vocab;
    double mx = row[0], z = 0;
    for (int64_t v = 0; v < ref.vocab; ++v) mx = std::max(mx, static_cast<double>(row[v]));
    for (int64_t v = 0; v < ref.vocab; ++v) z += std::exp(row[v] - mx);
    nll += std::log(z) + mx - row[ref.tokens[static_cast<size_t>(i + 1)]];
  }
  const double want = std::exp(nll / static_cast<double>(n - 1));
  ThreadPool pool(2);
  Forward fwd(*model, pool);
  PerplexityOptions o;
  o.context = 64;
  o.batch = 5;  // several forward calls per window
  o.kv_type = DType::kF32;  // the torch logits are of f32 arithmetic throughout
  auto r = perplexity(fwd, ref.tokens, o);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->scored_tokens, n - 1);
  EXPECT_EQ(r->windows, 1);
  EXPECT_NEAR(r->perplexity, want, want * 1e-5);

  o.context = 6;
  o.stride = 4;
  auto sliding = perplexity(fwd, ref.tokens, o);
  ASSERT_TRUE(sliding.ok());
  EXPECT_EQ(sliding->scored_tokens, n - 1);
  EXPECT_EQ(sliding->windows, 3);  // [0,6) [4,10) [8,12)
  EXPECT_GT(sliding->perplexity, 1.0);
  EXPECT_FALSE(perplexity(fwd, std::span<const int32_t>(ref.tokens).first(1), o).ok());
}

}  // namespace
}  // namespace limarp
