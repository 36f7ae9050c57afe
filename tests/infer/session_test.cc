// Sessions evaluate only new tokens: a repeated or extended prompt reuses the cache, and a
// prompt with old turns removed from its middle shifts them out instead of re-evaluating.
// The shifted cache must also agree with the rotary maths: a key rotated for position p and
// shifted by d equals the key computed at p - d.
#include <gtest/gtest.h>

#include "base/rng.h"
#include "infer/session.h"
#include "kernels/rope.h"
#include "model/random_init.h"
#include "support/test_support.h"

namespace limarp {
namespace {

LlamaModel tiny_model(const std::string& dir) {
  LlamaConfig c = named_shape("tiny").value();
  TensorStore store;
  store.source = "random tiny";
  c.to_metadata(store.metadata);
  for (auto& t : random_llama_tensors(c, QuantRecipe::parse("f32").value(), 7, 0.2f)) {
    Tensor buf(t.type, t.shape);
    EXPECT_TRUE(t.fill(std::span<uint8_t>(buf.bytes(), buf.nbytes())).ok());
    store.add_owned(t.name, std::move(buf));
  }
  (void)dir;
  return std::move(LlamaModel::from_store(std::move(store)).value());
}

TEST(RemovedSpan, FindsTheDroppedTurn) {
  const std::vector<int32_t> before = {1, 2, 3, 10, 11, 12, 20, 21, 22, 23, 24, 25, 26, 27, 28};
  std::vector<int32_t> now = {1, 2, 3, 20, 21, 22, 23, 24, 25, 26, 27, 28, 40, 41};
  const RemovedSpan s = find_removed_span(before, now, 4);
  EXPECT_EQ(s.begin, 3);
  EXPECT_EQ(s.end, 6);
  // Too short a match after the gap: only the prefix is reused.
  const RemovedSpan t = find_removed_span(before, std::vector<int32_t>{1, 2, 3, 20, 21, 99}, 4);
  EXPECT_EQ(t.begin, 3);
  EXPECT_EQ(t.end, 3);
}

TEST(Session, FiftyTurnChatEvaluatesOnlyNewTokensPerTurn) {
  LlamaModel model = tiny_model("");
  ThreadPool pool(2);
  Forward fwd(model, pool);
  const int64_t ctx = 256;
  Session session(model, ctx);
  Rng rng(3);
  // A chat: a fixed 40-token instruction block, then turns of 10..29 tokens. When the prompt
  // would exceed the budget, whole oldest turns are dropped (the chat layer's job, mimicked).
  std::vector<int32_t> instruction(40);
  for (auto& t : instruction) t = static_cast<int32_t>(3 + rng.next_u64() % 500);
  std::vector<std::vector<int32_t>> turns;
  std::vector<float> logits;
  int64_t total_new = 0, total_evaluated = 0, shifts = 0;
  for (int turn = 0; turn < 50; ++turn) {
    std::vector<int32_t> t(static_cast<size_t>(10 + rng.next_u64() % 20));
    for (auto& x : t) x = static_cast<int32_t>(3 + rng.next_u64() % 500);
    turns.push_back(t);
    auto build = [&] {
      std::vector<int32_t> p = instruction;
      for (const auto& tt : turns) p.insert(p.end(), tt.begin(), tt.end());
      return p;
    };
    std::vector<int32_t> prompt = build();
    while (static_cast<int64_t>(prompt.size()) > ctx - 32) {
      turns.erase(turns.begin());
      prompt = build();
    }
    auto stats = session.sync(prompt, fwd, logits);
    ASSERT_TRUE(stats.ok()) << stats.error().message();
    // After the first turn only the newest turn is new; nothing else is re-evaluated.
    if (turn > 0) {
      EXPECT_LE(stats->evaluated, static_cast<int64_t>(t.size())) << "turn " << turn;
    }
    EXPECT_EQ(stats->reused + stats->evaluated, static_cast<int64_t>(prompt.size()));
    shifts += stats->shifted_out > 0;
    if (turn > 0) {
      total_new += static_cast<int64_t>(t.size());
      total_evaluated += stats->evaluated;
    }
  }
  EXPECT_GT(shifts, 5) << "the test should exercise context shifting";
  EXPECT_EQ(total_evaluated, total_new);
  std::printf("50 turns: %lld new tokens, %lld evaluated, %lld shifts\n", static_cast<long long>(total_new),
              static_cast<long long>(total_evaluated), static_cast<long long>(shifts));
}

TEST(Session, ShiftedKeysEqualKeysRotatedAtTheNewPosition) {
  LlamaModel model = tiny_model("");
  const LlamaConfig& c = model.config();
  KvCache cache(c, 16);
  const int64_t kv = c.kv_dim(), hd = c.head_dim();
  Rng rng(5);
  std::vector<float> raw(static_cast<size_t>(16 * kv));
  for (auto& v : raw) v = static_cast<float>(rng.normal());
  // Fill layer 0 with keys rotated for positions 0..15.
  std::vector<float> cs(static_cast<size_t>(hd));
  for (int64_t p = 0; p < 16; ++p) {
    std::copy(raw.begin() + p * kv, raw.begin() + (p + 1) * kv, cache.k(0) + p * kv);
    kernels::rope_cos_sin(cs.data(), p, hd, c.rope_theta);
    kernels::rope_apply(cache.k(0) + p * kv, cs.data(), c.n_kv_heads, hd, c.rope_layout);
  }
  cache.set_size(16);
  ASSERT_TRUE(cache.shift_out(3, 8, c).ok());
  EXPECT_EQ(cache.size(), 11);
  for (int64_t p = 8; p < 16; ++p) {
    std::vector<float> want(raw.begin() + p * kv, raw.begin() + (p + 1) * kv);
    kernels::rope_cos_sin(cs.data(), p - 5, hd, c.rope_theta);
    kernels::rope_apply(want.data(), cs.data(), c.n_kv_heads, hd, c.rope_layout);
    for (int64_t i = 0; i < kv; ++i) ASSERT_NEAR(cache.k(0)[(p - 5) * kv + i], want[static_cast<size_t>(i)], 1e-5);
  }
}

}  // namespace
}  // namespace limarp
