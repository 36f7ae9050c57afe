// SillyTavern instruct presets: the built-in LimaRP-Alpaca, both field generations, errors.
#include <gtest/gtest.h>

#include "chat/instruct_preset.h"
#include "support/test_support.h"

namespace limarp {
namespace {

// The preset as published beside the model (old SillyTavern field generation).
const char* kPublishedLimaRpAlpaca = R"json({
  "wrap": true,
  "names": true,
  "system_prompt": "",
  "system_sequence_prefix": "### Instruction:",
  "stop_sequence": "### Input:",
  "input_sequence": "\n### Input:",
  "output_sequence": "\n### Response:",
  "separator_sequence": "",
  "macro": true,
  "names_force_groups": false,
  "last_output_sequence": "\n### Response: (length = tiny)",
  "activation_regex": "",
  "system_sequence_suffix": "",
  "first_output_sequence": "",
  "system_sequence": "<<SYSTEM>>",
  "name": "LimaRP-Alpaca"
})json";

TEST(InstructPreset, BuiltInLimaRpAlpacaHasThePublishedValues) {
  const InstructPreset p = limarp_alpaca_preset();
  EXPECT_EQ(p.name, "LimaRP-Alpaca");
  EXPECT_EQ(p.system_sequence_prefix, "### Instruction:");
  EXPECT_EQ(p.input_sequence, "\n### Input:");
  EXPECT_EQ(p.output_sequence, "\n### Response:");
  EXPECT_EQ(p.last_output_sequence, "\n### Response: (length = tiny)");
  EXPECT_EQ(p.stop_sequence, "### Input:");
  EXPECT_EQ(p.system_sequence, "<<SYSTEM>>");
  EXPECT_EQ(p.output_suffix, "");
  EXPECT_TRUE(p.wrap);
  EXPECT_TRUE(p.macro);
  EXPECT_EQ(p.names_behavior, NamesBehavior::kAlways);
}

TEST(InstructPreset, ImportsThePublishedOldGenerationFile) {
  const Json j = Json::parse(kPublishedLimaRpAlpaca);
  EXPECT_EQ(detect_preset_generation(j), PresetGeneration::kOld);
  auto p = instruct_preset_from_json(j, "LimaRP-Alpaca.json");
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(*p, limarp_alpaca_preset());
}

TEST(InstructPreset, OldExportReproducesThePublishedFile) {
  EXPECT_EQ(instruct_preset_to_json(limarp_alpaca_preset(), PresetGeneration::kOld), Json::parse(kPublishedLimaRpAlpaca));
}

TEST(InstructPreset, NewExportUsesNewFieldsAndRoundTrips) {
  const Json j = instruct_preset_to_json(limarp_alpaca_preset(), PresetGeneration::kNew);
  EXPECT_EQ(j.at("names_behavior"), "always");
  EXPECT_EQ(j.at("output_suffix"), "");
  EXPECT_TRUE(j.contains("input_suffix"));
  EXPECT_TRUE(j.contains("last_system_sequence"));
  EXPECT_TRUE(j.contains("user_alignment_message"));
  EXPECT_FALSE(j.contains("separator_sequence"));
  EXPECT_FALSE(j.contains("names"));
  EXPECT_EQ(detect_preset_generation(j), PresetGeneration::kNew);
  auto back = instruct_preset_from_json(j, "new.json");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, limarp_alpaca_preset());
}

TEST(InstructPreset, OldFieldsMigrateLikeSillyTavern) {
  auto p = instruct_preset_from_json(
      Json::parse(R"({"separator_sequence": "</s>", "names": false, "names_force_groups": true})"), "x");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->output_suffix, "</s>");
  EXPECT_EQ(p->names_behavior, NamesBehavior::kForce);
  auto none = instruct_preset_from_json(Json::parse(R"({"names": false, "names_force_groups": false})"), "x");
  EXPECT_EQ(none->names_behavior, NamesBehavior::kNone);
  // Both generations present: the explicit new fields win.
  auto both = instruct_preset_from_json(
      Json::parse(R"({"separator_sequence": "A", "output_suffix": "B", "names": true, "names_behavior": "none"})"), "x");
  EXPECT_EQ(both->output_suffix, "B");
  EXPECT_EQ(both->names_behavior, NamesBehavior::kNone);
}

TEST(InstructPreset, NewGenerationFields) {
  auto p = instruct_preset_from_json(Json::parse(R"({
    "name": "ChatML", "input_sequence": "<|im_start|>user", "input_suffix": "<|im_end|>\n",
    "output_sequence": "<|im_start|>assistant", "output_suffix": "<|im_end|>\n",
    "system_sequence": "<|im_start|>system", "system_suffix": "<|im_end|>\n", "last_system_sequence": "",
    "user_alignment_message": "Hi", "system_same_as_user": true, "skip_examples": true,
    "first_input_sequence": "", "last_input_sequence": "", "names_behavior": "none", "derived": false})"),
                                     "ChatML.json");
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->input_suffix, "<|im_end|>\n");
  EXPECT_EQ(p->system_suffix, "<|im_end|>\n");
  EXPECT_EQ(p->user_alignment_message, "Hi");
  EXPECT_TRUE(p->system_same_as_user);
  EXPECT_TRUE(p->skip_examples);
  EXPECT_EQ(p->names_behavior, NamesBehavior::kNone);
  // Unknown keys survive a round trip.
  EXPECT_EQ(p->extra.at("derived"), false);
  EXPECT_EQ(instruct_preset_to_json(*p, PresetGeneration::kNew).at("derived"), false);
}

TEST(InstructPreset, MasterExportIsUnwrapped) {
  auto p = instruct_preset_from_json(Json::parse(R"({"instruct": {"name": "X", "input_sequence": "U:"}, "context": {}})"), "x");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "X");
  EXPECT_EQ(p->input_sequence, "U:");
}

TEST(InstructPreset, malformed_fields_are_named) {
  EXPECT_EQ(instruct_preset_from_json(Json::parse(R"({"input_sequence": 3})"), "p.json").error().message(),
            "p.json: input_sequence must be a string, got 3");
  EXPECT_EQ(instruct_preset_from_json(Json::parse(R"({"wrap": "yes"})"), "p.json").error().message(),
            "p.json: wrap must be true or false, got \"yes\"");
  EXPECT_EQ(instruct_preset_from_json(Json::parse(R"({"names_behavior": "sometimes"})"), "p.json").error().message(),
            "p.json: names_behavior must be \"force\", \"always\" or \"none\", got \"sometimes\"");
  EXPECT_FALSE(instruct_preset_from_json(Json::parse("[]"), "p.json").ok());
}

TEST(InstructPreset, LoadsByNameOrFile) {
  auto by_name = load_instruct_preset("limarp-alpaca");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->name, "LimaRP-Alpaca");
  const std::string dir = testing::scratch_dir("instruct_preset");
  const std::string path = dir + "/custom.json";
  InstructPreset custom = limarp_alpaca_preset();
  custom.name = "Custom";
  custom.input_suffix = "<eot>";
  ASSERT_TRUE(save_instruct_preset(path, custom, PresetGeneration::kNew).ok());
  auto loaded = load_instruct_preset(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(*loaded, custom);
  auto missing = load_instruct_preset("NoSuchPreset");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "instruct preset \"NoSuchPreset\" is neither a file nor a built-in preset (LimaRP-Alpaca)");
  testing::write_file(dir + "/broken.json", "{\"name\": ");
  auto broken = load_instruct_preset(dir + "/broken.json");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message().find("broken.json"), std::string::npos);
}

}  // namespace
}  // namespace limarp
