// Sessions evaluate only new tokens: a repeated or extended prompt reuses the cache, and a
// prompt with old turns removed from its middle shifts them out instead of re-evaluating.
// The shifted cache must also agree with the rotary maths: a key rotated for position p and
// shifted by d equals the key computed at p - d.
#include <gtest/gtest.h>

#include <utility>

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
  LlamaConfig c = model.config();
  const int64_t kv = c.kv_dim(), hd = c.head_dim();
  // Unscaled, then with YaRN, whose attention factor the stored keys carry once: the shift
  // must rotate them without applying it again. f16 keys are rounded when stored and again
  // after their rotation back.
  for (RopeScalingType scaling : {RopeScalingType::kNone, RopeScalingType::kYarn}) {
    for (auto [type, tolerance] : {std::pair{DType::kF32, 1e-5}, std::pair{DType::kF16, 3e-3}}) {
      c.rope_scaling.type = scaling;
      c.rope_scaling.factor = 4;
      KvCache cache(c, 16, type);
      Rng rng(5);
      std::vector<float> raw(static_cast<size_t>(16 * kv)), rotated(raw.size()), values(raw.size());
      for (auto& v : raw) v = static_cast<float>(rng.normal());
      for (auto& v : values) v = static_cast<float>(rng.normal());
      // Fill layer 0 with keys rotated for positions 0..15.
      std::vector<float> cs(static_cast<size_t>(hd));
      const RopeFrequencies freq = c.rope_frequencies();
      for (int64_t p = 0; p < 16; ++p) {
        std::copy(raw.begin() + p * kv, raw.begin() + (p + 1) * kv, rotated.begin() + p * kv);
        kernels::rope_cos_sin(cs.data(), p, freq.inv_freq.data(), hd, freq.mscale);
        kernels::rope_apply(rotated.data() + p * kv, cs.data(), c.n_kv_heads, hd, c.rope_layout);
      }
      cache.store(0, 0, 16, rotated.data(), values.data());
      cache.set_size(16);
      ASSERT_TRUE(cache.shift_out(3, 8, c).ok());
      EXPECT_EQ(cache.size(), 11);
      std::vector<float> got(static_cast<size_t>(kv));
      for (int64_t p = 0; p < 16; ++p) {
        if (p >= 3 && p < 8) continue;
        const int64_t now = p < 3 ? p : p - 5;
        std::vector<float> want(raw.begin() + p * kv, raw.begin() + (p + 1) * kv);
        kernels::rope_cos_sin(cs.data(), now, freq.inv_freq.data(), hd, freq.mscale);
        kernels::rope_apply(want.data(), cs.data(), c.n_kv_heads, hd, c.rope_layout);
        cache.read_key(0, now, got.data());
        for (int64_t i = 0; i < kv; ++i) ASSERT_NEAR(got[i], want[static_cast<size_t>(i)], tolerance) << p;
        cache.read_value(0, now, got.data());
        for (int64_t i = 0; i < kv; ++i) ASSERT_NEAR(got[i], values[static_cast<size_t>(p * kv + i)], tolerance) << p;
      }
    }
  }
}

// The server batches many sessions' steps into one forward pass. Each sequence's numbers must
// not depend on its batch mates (a seeded reply is the same alone or under load), so batched
// evaluation is compared bit for bit with evaluating each session alone — with the prompts,
// prompt chunks and single decode steps mixed in one call, as the scheduler mixes them.
TEST(Session, BatchedStepsEqualSeparateEvaluationExactly) {
  LlamaModel model = tiny_model("");
  ThreadPool pool(2);
  Forward fwd(model, pool);
  Rng rng(11);
  auto random_tokens = [&](size_t n) {
    std::vector<int32_t> t(n);
    for (auto& x : t) x = static_cast<int32_t>(3 + rng.next_u64() % 500);
    return t;
  };
  const std::vector<std::vector<int32_t>> prompts = {random_tokens(37), random_tokens(5), random_tokens(64)};
  std::vector<Session> alone, batched;
  for (size_t i = 0; i < prompts.size(); ++i) {
    alone.emplace_back(model, 128);
    batched.emplace_back(model, 128);
  }
  // Alone: each prompt in one call, then three decode steps.
  std::vector<std::vector<float>> want(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_TRUE(alone[i].sync(prompts[i], fwd, want[i]).ok());
    for (int32_t t : {7, 8, 9}) ASSERT_TRUE(alone[i].append(t, fwd, want[i]).ok());
  }
  // Batched: session 0's prompt in two chunks, the others whole, then decode steps together.
  for (size_t i = 0; i < prompts.size(); ++i) ASSERT_TRUE(batched[i].begin_sync(prompts[i], nullptr, ShiftPolicy::kAllowed).ok());
  std::vector<std::vector<float>> got(prompts.size());
  const std::span<const int32_t> p0(prompts[0]);
  std::vector<Session::EvalStep> first = {{&batched[0], p0.first(20), nullptr},
                                          {&batched[1], prompts[1], &got[1]},
                                          {&batched[2], prompts[2], &got[2]}};
  ASSERT_TRUE(Session::eval_batch(first, fwd).ok());
  const int32_t seven = 7;
  std::vector<Session::EvalStep> second = {{&batched[0], p0.subspan(20), &got[0]},
                                           {&batched[1], std::span<const int32_t>(&seven, 1), &got[1]},
                                           {&batched[2], std::span<const int32_t>(&seven, 1), &got[2]}};
  ASSERT_TRUE(Session::eval_batch(second, fwd).ok());
  std::vector<Session::EvalStep> catch_up = {{&batched[0], std::span<const int32_t>(&seven, 1), &got[0]}};
  ASSERT_TRUE(Session::eval_batch(catch_up, fwd).ok());
  for (int32_t t : {8, 9}) {
    std::vector<Session::EvalStep> steps;
    for (size_t i = 0; i < prompts.size(); ++i) steps.push_back({&batched[i], std::span<const int32_t>(&t, 1), &got[i]});
    ASSERT_TRUE(Session::eval_batch(steps, fwd).ok());
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(batched[i].tokens(), alone[i].tokens()) << "session " << i;
    ASSERT_EQ(got[i].size(), want[i].size());
    EXPECT_TRUE(std::equal(got[i].begin(), got[i].end(), want[i].begin())) << "session " << i << ": logits differ";
  }
}

TEST(Session, BatchThatOverflowsAContextChangesNothing) {
  LlamaModel model = tiny_model("");
  ThreadPool pool(1);
  Forward fwd(model, pool);
  Session a(model, 8), b(model, 8);
  std::vector<float> logits;
  const std::vector<int32_t> five = {1, 5, 6, 7, 8}, six = {1, 5, 6, 7, 8, 9};
  ASSERT_TRUE(a.sync(five, fwd, logits).ok());
  ASSERT_TRUE(b.sync(six, fwd, logits).ok());
  const std::vector<int32_t> three = {10, 11, 12};
  std::vector<Session::EvalStep> steps = {{&a, three, &logits}, {&b, three, &logits}};  // b: 6 + 3 > 8
  EXPECT_FALSE(Session::eval_batch(steps, fwd).ok());
  EXPECT_EQ(a.tokens().size(), 5u);
  EXPECT_EQ(b.tokens().size(), 6u);
  EXPECT_EQ(a.cache().size(), 5);
}

}  // namespace
}  // namespace limarp
