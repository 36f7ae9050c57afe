// SamplerSettings: LimaRP defaults, KoboldCpp order numbering, stage placement, validation.
#include <gtest/gtest.h>

#include "sampling/sampler_settings.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using S = SamplerStage;

std::string names(const std::vector<SamplerStage>& order) {
  std::string out;
  for (auto s : order) out += std::string(out.empty() ? "" : ",") + sampler_stage_name(s);
  return out;
}

TEST(SamplerSettings, DefaultsAreTheLimaRpCardAdvice) {
  SamplerSettings s;
  EXPECT_FLOAT_EQ(s.temperature, 0.8f);
  EXPECT_FLOAT_EQ(s.tfs, 0.95f);
  EXPECT_FLOAT_EQ(s.rep_pen, 1.08f);
  EXPECT_EQ(s.top_k, 0);
  EXPECT_FLOAT_EQ(s.top_p, 1.0f);
  auto chain = build_chain(s);
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->describe(), "rep_pen -> tfs -> temperature -> draw");
}

TEST(SamplerSettings, KoboldCppNumbering) {
  auto order = parse_sampler_order("6,0,1,3,4,2,5");
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(*order, default_sampler_order());
  EXPECT_EQ(names(*order), "rep_pen,top_k,top_a,tfs,typical,top_p,temperature");
  auto by_name = parse_sampler_order(" temperature, top_p ,min_p,dry");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(*by_name, (std::vector<SamplerStage>{S::kTemperature, S::kTopP, S::kMinP, S::kDry}));
  auto json = parse_sampler_order(Json::parse(R"([5, "top_k", 6])"), "body");
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, (std::vector<SamplerStage>{S::kTemperature, S::kTopK, S::kRepPen}));
}

TEST(SamplerSettings, BadOrdersAreErrors) {
  EXPECT_NE(parse_sampler_order("6,0,6").error().message().find("rep_pen twice"), std::string::npos);
  EXPECT_NE(parse_sampler_order("7").error().message().find("unknown sampler \"7\""), std::string::npos);
  EXPECT_NE(parse_sampler_order(Json::parse("[9]"), "body").error().message().find("sampler_order[0] = 9"),
            std::string::npos);
}

TEST(SamplerSettings, UnnumberedStagesTakeTheirKoboldCppPlaces) {
  SamplerSettings s;
  EXPECT_EQ(names(resolve_sampler_order(s)),
            "dry,rep_pen,presence_frequency,top_k,top_a,tfs,typical,top_p,min_p,temperature,xtc");
  // No rep_pen: presence/frequency follows dry. No top_p: min_p goes last. xtc named: kept.
  s.order = {S::kTemperature, S::kXtc, S::kTopK};
  EXPECT_EQ(names(resolve_sampler_order(s)), "dry,presence_frequency,temperature,xtc,top_k,min_p");
  s.mirostat = 2;
  EXPECT_EQ(names(resolve_sampler_order(s)), "dry,rep_pen,presence_frequency,temperature");
}

TEST(SamplerSettings, ChainsLeaveOutNoOpsAndHonourGreedyAndMirostat) {
  SamplerSettings s;
  s.min_p = 0.05f;
  s.presence_penalty = 0.1f;
  s.xtc_probability = 0.5f;
  auto chain = build_chain(s);
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->describe(), "rep_pen -> presence_frequency -> tfs -> min_p -> temperature -> xtc -> draw");
  s.temperature = 0;
  auto greedy = build_chain(s);
  ASSERT_TRUE(greedy.ok());
  EXPECT_EQ(greedy->describe(), "rep_pen -> presence_frequency -> greedy");
  s.temperature = 0.7f;
  s.mirostat = 2;
  s.logit_bias = {{2, -1.0f}};
  auto miro = build_chain(s);
  ASSERT_TRUE(miro.ok());
  EXPECT_EQ(miro->describe(), "logit_bias -> rep_pen -> presence_frequency -> temperature -> mirostat_v2 -> draw");
  s.mirostat = 0;
  s.dynatemp_range = 0.2f;
  auto dyn = build_chain(s);
  ASSERT_TRUE(dyn.ok());
  EXPECT_NE(dyn->describe().find("dynatemp"), std::string::npos);
}

TEST(SamplerSettings, DryNeedsTokenTextsForBreakers) {
  SamplerSettings s;
  s.dry_multiplier = 0.8f;
  auto missing = build_chain(s);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("token texts"), std::string::npos);
  auto texts = std::make_shared<const TokenTexts>(TokenTexts{"a", "b"});
  ChainOptions options;
  options.token_texts = texts;
  auto ok = build_chain(s, options);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->describe(), "dry -> rep_pen -> tfs -> temperature -> draw");
  s.dry_sequence_breakers.clear();
  EXPECT_TRUE(build_chain(s).ok());
}

TEST(SamplerSettings, TokenIdsMustBeInTheVocabulary) {
  SamplerSettings s;
  s.logit_bias = {{0, 1.0f}, {31999, -2.0f}};
  s.banned_tokens = {2, 31999};
  EXPECT_TRUE(check_token_ids(s, 32000).ok());
  const auto bias = check_token_ids(s, 2048);
  ASSERT_FALSE(bias.ok());
  EXPECT_NE(bias.error().message().find("logit_bias names token 31999, outside the vocabulary (0..2047)"),
            std::string::npos) << bias.error().message();
  s.logit_bias = {{-1, 1.0f}};
  EXPECT_FALSE(check_token_ids(s, 32000).ok());
  s.logit_bias.clear();
  const auto banned = check_token_ids(s, 2048);
  ASSERT_FALSE(banned.ok());
  EXPECT_NE(banned.error().message().find("banned_tokens names token 31999"), std::string::npos);
}

TEST(SamplerSettings, ValidationNamesTheField) {
  SamplerSettings s;
  s.top_p = 1.5f;
  EXPECT_EQ(validate(s).error().message(), "top_p must be in [0, 1], got 1.5");
  s = {};
  s.mirostat = 3;
  EXPECT_NE(validate(s).error().message().find("mirostat"), std::string::npos);
  s = {};
  s.rep_pen = 0;
  EXPECT_NE(build_chain(s).error().message().find("rep_pen"), std::string::npos);
}

}  // namespace
}  // namespace limarp
