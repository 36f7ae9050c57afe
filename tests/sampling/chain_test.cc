// The chain: bans, order effects, the draw, greedy, determinism.
#include <gtest/gtest.h>

#include "sampling/sampler_settings.h"
#include "sampling/temperature.h"
#include "sampling/truncation.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

SamplerSettings plain() {
  SamplerSettings s;
  s.tfs = 1.0f;
  s.rep_pen = 1.0f;
  return s;
}

TEST(Chain, OrderOfTemperatureAndTopPMatters) {
  // top-p 0.7 first: running sums 0.5, 0.75 → 2 tokens.
  // temperature 2 first: p ∝ sqrt(p) = .7071, .5, .3536, .25, .25 (sum 2.0607) → .343, .243,
  // .172, ...: running sums .343, .586, .757 → 3 tokens.
  SamplerSettings s = plain();
  s.temperature = 2.0f;
  s.top_p = 0.7f;
  Rng rng(1);
  SamplerContext ctx{{}, &rng};

  s.order = {SamplerStage::kTopP, SamplerStage::kTemperature};
  auto p_first = build_chain(s);
  ASSERT_TRUE(p_first.ok()) << p_first.error().message();
  p_first->sample(kHalvingLogits, ctx);
  EXPECT_EQ(p_first->last_candidates().size(), 2u);

  s.order = {SamplerStage::kTemperature, SamplerStage::kTopP};
  auto t_first = build_chain(s);
  ASSERT_TRUE(t_first.ok());
  t_first->sample(kHalvingLogits, ctx);
  EXPECT_EQ(t_first->last_candidates().size(), 3u);
}

TEST(Chain, PenaltyBeforeTruncationChangesWhatSurvives) {
  // Token 0 was generated; rep pen 8 makes its logit ln(0.5) · 8 = -5.5, below every other.
  // Penalty first: top-k 1 keeps token 1. Top-k first: keeps token 0 alone, then penalised.
  SamplerSettings s = plain();
  s.rep_pen = 8.0f;
  s.top_k = 1;
  const std::vector<int32_t> history = {0};
  SamplerContext ctx{history, nullptr};

  s.order = {SamplerStage::kRepPen, SamplerStage::kTopK};
  auto pen_first = build_chain(s);
  ASSERT_TRUE(pen_first.ok());
  EXPECT_EQ(pen_first->sample(kHalvingLogits, ctx), 1);

  s.order = {SamplerStage::kTopK, SamplerStage::kRepPen};
  auto k_first = build_chain(s);
  ASSERT_TRUE(k_first.ok());
  EXPECT_EQ(k_first->sample(kHalvingLogits, ctx), 0);
}

TEST(Chain, DrawFollowsTheProbabilities) {
  SamplerChain chain;
  Rng rng(7);
  SamplerContext ctx{{}, &rng};
  const auto logits = logits_of({0.5, 0.25, 0.25});
  std::vector<int> count(3, 0);
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++count[static_cast<size_t>(chain.sample(logits, ctx))];
  EXPECT_NEAR(count[0] / double(n), 0.5, 0.02);
  EXPECT_NEAR(count[1] / double(n), 0.25, 0.02);
  EXPECT_NEAR(count[2] / double(n), 0.25, 0.02);
}

TEST(Chain, SameSeedSameTokens) {
  SamplerSettings s;  // LimaRP defaults
  s.seed = 1234;
  auto a = build_chain(s);
  auto b = build_chain(s);
  ASSERT_TRUE(a.ok() && b.ok());
  Rng ra = make_sampler_rng(s), rb = make_sampler_rng(s);
  std::vector<int32_t> ha, hb;
  const auto logits = logits_of({0.3, 0.2, 0.2, 0.1, 0.1, 0.05, 0.05});
  for (int i = 0; i < 50; ++i) {
    SamplerContext ca{ha, &ra}, cb{hb, &rb};
    ha.push_back(a->sample(logits, ca));
    hb.push_back(b->sample(logits, cb));
  }
  EXPECT_EQ(ha, hb);
}

TEST(Chain, BannedNowAppliesToOneStep) {
  SamplerChain chain;
  chain.set_draw_mode(DrawMode::kGreedy);
  const std::vector<int32_t> ban = {0};
  SamplerContext ctx{{}, nullptr, ban};
  EXPECT_EQ(chain.sample(kHalvingLogits, ctx), 1);
  SamplerContext free_ctx{};
  EXPECT_EQ(chain.sample(kHalvingLogits, free_ctx), 0);
}

TEST(Chain, EverythingBannedStillReturnsAToken) {
  SamplerSettings s = plain();
  s.banned_tokens = {0, 1, 2, 3, 4};
  s.top_p = 0.5f;
  auto chain = build_chain(s);
  ASSERT_TRUE(chain.ok());
  Rng rng(3);
  SamplerContext ctx{{}, &rng};
  const int32_t id = chain->sample(kHalvingLogits, ctx);
  EXPECT_GE(id, 0);
  EXPECT_LT(id, 5);
  s.temperature = 0;
  auto greedy = build_chain(s);
  ASSERT_TRUE(greedy.ok());
  EXPECT_EQ(greedy->sample(kHalvingLogits, ctx), 0);  // lowest id among equals
}

}  // namespace
}  // namespace limarp
