// adapter_config.json values that would load and then turn every output into NaN (issue 21,
// row 11) are refused with the field and the file named.
#include <gtest/gtest.h>

#include "model/lora_config.h"

namespace limarp {
namespace {

std::string error_of(const Json& j) {
  auto c = LoraConfig::parse(j, "adapter/adapter_config.json");
  return c.ok() ? "" : c.error().message();
}

TEST(LoraConfigValidation, HostileValuesNameTheFieldAndFile) {
  const Json good = {{"peft_type", "LORA"}, {"r", 8}, {"lora_alpha", 16}, {"target_modules", {"q_proj"}}};
  ASSERT_EQ(error_of(good), "");
  const std::vector<std::pair<std::string, Json>> cases = {
      {"r", 0},          {"r", 100000000},     {"r", 2.5},           {"lora_alpha", 3e38},
      {"lora_alpha", 0}, {"lora_alpha", -1},   {"lora_dropout", 5},  {"lora_dropout", -0.1},
      {"layers_to_transform", Json::array({-1})}, {"layers_to_transform", -3},
      {"rank_pattern", {{"q_proj", 0}}},     {"rank_pattern", {{"q_proj", 1e30}}},
      {"alpha_pattern", {{"q_proj", 3e38}}}};
  for (const auto& [field, value] : cases) {
    Json j = good;
    j[field] = value;
    const std::string e = error_of(j);
    EXPECT_NE(e.find(field), std::string::npos) << field << "=" << value.dump() << ": '" << e << "'";
    EXPECT_NE(e.find("adapter/adapter_config.json"), std::string::npos) << e;
  }
}

TEST(LoraConfigValidation, RankPatternGivesTheModuleRank) {
  Json j = {{"r", 8}, {"rank_pattern", {{"q_proj", 4}}}};
  auto c = LoraConfig::parse(j, "a.json");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->rank_for("model.layers.0.self_attn.q_proj"), 4);
  EXPECT_EQ(c->rank_for("model.layers.0.self_attn.k_proj"), 8);
}

}  // namespace
}  // namespace limarp
