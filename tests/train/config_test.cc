// Training configs: Axolotl's key names parse into the settings they name, the shipped pass
// configs are valid, and every invalid value is refused with an error naming its key.
#include <gtest/gtest.h>

#include <filesystem>
#include <span>

#include "support/test_support.h"
#include "train/train_config.h"

namespace limarp::train {
namespace {

constexpr const char* kCard = R"(
base_model: models/llama-2-7b
adapter: qlora
load_in_4bit: true
lora_r: 256
lora_alpha: 16
lora_dropout: 0.1
lora_target_linear: true
sequence_len: 4096
sample_packing: true
micro_batch_size: 2
gradient_accumulation_steps: 1
num_epochs: 1
learning_rate: 0.0002
lr_scheduler: constant
optimizer: adamw_torch
bf16: true
tf32: true
seed: 7
output_dir: out/pass1
save_steps: 50
val_set_size: 0.02
gradient_checkpointing: true
datasets:
  - path: data/stories.jsonl
    type: completion
    field: story
  - path: data/limarp
    type: limarp
    length_unit: tokens
    length_thresholds: [10, 20, 30, 40, 50, 60, 70]
    length_labels: last_reply
)";

// Each config `base` + case.first is refused with a message holding case.second and `prefix`.
void expect_refused(const std::string& base, std::span<const std::pair<std::string, std::string>> cases,
                    const std::string& prefix) {
  for (const auto& [lines, problem] : cases) {
    auto c = parse_train_config(base + lines, "bad.yml");
    ASSERT_FALSE(c.ok()) << lines;
    EXPECT_NE(c.error().message().find(problem), std::string::npos) << c.error().message();
    EXPECT_NE(c.error().message().find(prefix), std::string::npos) << c.error().message();
  }
}

TEST(TrainConfig, AxolotlKeysParse) {
  auto c = parse_train_config(kCard, "card.yml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->base_model, "models/llama-2-7b");
  EXPECT_EQ(c->adapter, AdapterKind::kQlora);
  EXPECT_TRUE(c->load_in_4bit);
  EXPECT_TRUE(c->double_quant);
  EXPECT_EQ(c->lora_r, 256);
  EXPECT_EQ(c->lora_alpha, 16);
  EXPECT_FLOAT_EQ(static_cast<float>(c->lora_dropout), 0.1f);
  EXPECT_EQ(c->lora_targets().size(), 7u);
  EXPECT_EQ(c->sequence_len, 4096);
  EXPECT_TRUE(c->sample_packing);
  EXPECT_EQ(c->micro_batch_size, 2);
  EXPECT_EQ(c->lr_scheduler, LrScheduler::kConstant);
  EXPECT_DOUBLE_EQ(c->learning_rate, 0.0002);
  EXPECT_EQ(c->seed, 7u);
  EXPECT_TRUE(c->gradient_checkpointing);
  ASSERT_EQ(c->datasets.size(), 2u);
  EXPECT_EQ(c->datasets[0].field, "story");
  EXPECT_EQ(c->datasets[1].type, DatasetType::kLimarp);
  EXPECT_EQ(c->datasets[1].length.unit, LengthUnit::kTokens);
  EXPECT_EQ(c->datasets[1].length.placement, LengthLabels::kLastReply);
  EXPECT_EQ(c->datasets[1].length.level_for(35), LengthLevel::kLong);
  EXPECT_EQ(c->datasets[1].length.level_for(71), LengthLevel::kUnlimited);
  // Unknown keys are only warned about.
  EXPECT_TRUE(parse_train_config(std::string(kCard) + "frobnicate: 1\n", "card.yml").ok());
  // The explicit module list.
  auto m = parse_train_config("base_model: m\nadapter: lora\nlora_target_modules: [q_proj, v_proj]\n"
                              "datasets: [{path: d, type: completion}]\n",
                              "m.yml");
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->lora_targets(), (std::vector<Projection>{Projection::kQ, Projection::kV}));
}

TEST(TrainConfig, InvalidValuesNameTheirKey) {
  const std::string base = "base_model: m\nadapter: lora\nlora_target_linear: true\ndatasets: [{path: d, type: completion}]\n";
  const std::pair<std::string, std::string> cases[] = {
      {"micro_batch_size: 0\n", "micro_batch_size"},
      {"micro_batch_size: two\n", "micro_batch_size"},
      {"lora_dropout: 1.5\n", "lora_dropout"},
      {"learning_rate: fast\n", "learning_rate"},
      {"lr_scheduler: sawtooth\n", "lr_scheduler"},
      {"optimizer: sgd\n", "optimizer"},
      {"gradient_accumulation_steps: -1\n", "gradient_accumulation_steps"},
      {"sample_packing: maybe\n", "sample_packing"},
      {"val_set_size: 2.5\n", "val_set_size"},
      {"load_in_4bit: true\n", "load_in_4bit"},
      {"lora_target_modules: [q_proj, lm_head]\n", "lora_target_modules"},
      {"sequence_len: 1\n", "sequence_len"},
      {"max_grad_norm: -1\n", "max_grad_norm"},
      {"weight_decay: -0.1\n", "weight_decay"},
  };
  expect_refused(base, cases, "bad.yml");
  auto qlora = parse_train_config("base_model: m\nadapter: qlora\nlora_target_linear: true\n"
                                  "datasets: [{path: d}]\n", "q.yml");
  ASSERT_FALSE(qlora.ok());
  EXPECT_NE(qlora.error().message().find("load_in_4bit"), std::string::npos);
  auto type = parse_train_config("base_model: m\ndatasets: [{path: d, type: sharegpt}]\n", "t.yml");
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.error().message().find("datasets[0].type"), std::string::npos) << type.error().message();
  auto thresholds = parse_train_config("base_model: m\ndatasets: [{path: d, type: limarp, length_thresholds: [5, 4, 6, "
                                       "7, 8, 9, 10]}]\n", "l.yml");
  ASSERT_FALSE(thresholds.ok());
  EXPECT_NE(thresholds.error().message().find("length_thresholds"), std::string::npos);
  auto yaml = parse_train_config("base_model: [unclosed\n", "y.yml");
  ASSERT_FALSE(yaml.ok());
  EXPECT_NE(yaml.error().message().find("y.yml"), std::string::npos);
  EXPECT_FALSE(parse_train_config("adapter: lora\n", "none.yml").ok());  // no base_model
}

TEST(TrainConfig, StoryRoleplayKeys) {
  const std::string story = "base_model: m\nseed: 8\ndatasets:\n  - path: s.txt\n    type: story_roleplay\n"
                            "    story_levels: [tiny, Unlimited]\n    story_level_weights: [1, 3.5]\n"
                            "    story_replies: 6\n    story_max_conversations: 100\n"
                            "    story_max_reply_length: 500\n    stop_choice_weight: 5\n";
  auto c = parse_train_config(story, "s.yml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  const DatasetSpec& d = c->datasets[0];
  EXPECT_EQ(d.type, DatasetType::kStoryRoleplay);
  EXPECT_EQ(d.stories.levels, (std::vector<LengthLevel>{LengthLevel::kTiny, LengthLevel::kUnlimited}));
  EXPECT_EQ(d.stories.weights, (std::vector<double>{1, 3.5}));
  EXPECT_EQ(d.stories.replies_per_conversation, 6);
  EXPECT_EQ(d.stories.max_conversations, 100);
  EXPECT_EQ(d.stories.max_reply_length, 500);
  EXPECT_FALSE(d.story_seed.has_value());  // the run's seed
  EXPECT_EQ(d.stop_choice_weight, 5);
  // Story settings decide the samples, so a checkpoint made with others does not resume.
  auto other = parse_train_config(story + "    story_seed: 2\n", "s.yml");
  ASSERT_TRUE(other.ok()) << other.error().message();
  EXPECT_NE(c->data_digest(), other->data_digest());

  const std::string base = "base_model: m\ndatasets:\n  - path: s.txt\n    type: story_roleplay\n";
  const std::pair<std::string, std::string> cases[] = {
      {"    story_replies: 0\n", "story_replies must be between 1 and 64, got 0"},
      {"    story_replies: 100000\n", "story_replies must be between 1 and 64"},
      {"    story_levels: [tiny, gigantic]\n", "unknown length \"gigantic\""},
      {"    story_levels: []\n", "story_levels must name at least one"},
      {"    story_levels: [long, long]\n", "story_levels names long twice"},
      {"    story_levels: [tiny, long]\n    story_level_weights: [1]\n", "story_level_weights must be a list of 2"},
      {"    story_level_weights: [1, 1, 1, 1, 1, 1, 1, 0]\n", "story_level_weights[7] must be positive"},
      {"    story_level_weights: [1, 1, 1, 1, 1, 1, 1, 1e9]\n", "story_level_weights[7]"},
      {"    story_max_conversations: -5\n", "story_max_conversations must be between 0"},
      {"    story_max_reply_length: 300\n", "story_max_reply_length"},
      {"    length_thresholds: [10, 20, 30, 40, 50, 60, 1000]\n    story_max_reply_length: 900\n",
       "story_max_reply_length"},
      {"    story_seed: -1\n", "story_seed must not be negative"},
  };
  expect_refused(base, cases, "bad.yml: datasets[0]");
  auto foreign = parse_train_config("base_model: m\ndatasets: [{path: d, type: limarp, story_replies: 3}]\n", "f.yml");
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message().find("datasets[0].story_replies applies only to story_roleplay"),
            std::string::npos)
      << foreign.error().message();
  auto shipped = load_train_config(testing::source_dir() + "/configs/demo-pass2-stories.yml");
  ASSERT_TRUE(shipped.ok()) << shipped.error().message();
  EXPECT_EQ(shipped->datasets[0].type, DatasetType::kStoryRoleplay);
  EXPECT_EQ(shipped->datasets[0].path.find("heldout"), std::string::npos);
  EXPECT_EQ(shipped->datasets[1].type, DatasetType::kLimarp);
}

TEST(TrainConfig, ShippedPassConfigsFollowTheCard) {
  const std::string dir = testing::source_dir() + "/configs";
  auto p1 = load_train_config(dir + "/limarp-pass1-stories.yml");
  ASSERT_TRUE(p1.ok()) << p1.error().message();
  auto p2 = load_train_config(dir + "/limarp-pass2-roleplay.yml");
  ASSERT_TRUE(p2.ok()) << p2.error().message();
  // The card: r 256, alpha 16, all linear layers, QLoRA; pass 1 lr 2e-4 dropout 0.1 mbs 2 ga 1,
  // pass 2 continues the adapter with lr 6e-4, dropout 0, mbs 1, ga 8.
  for (const TrainConfig* c : {&*p1, &*p2}) {
    EXPECT_EQ(c->adapter, AdapterKind::kQlora);
    EXPECT_EQ(c->lora_r, 256);
    EXPECT_EQ(c->lora_alpha, 16);
    EXPECT_TRUE(c->lora_target_linear);
    EXPECT_EQ(c->lr_scheduler, LrScheduler::kConstant);
    EXPECT_EQ(c->num_epochs, 1);
  }
  EXPECT_EQ(p1->datasets[0].type, DatasetType::kCompletion);
  EXPECT_DOUBLE_EQ(p1->learning_rate, 0.0002);
  EXPECT_DOUBLE_EQ(p1->lora_dropout, 0.1);
  EXPECT_EQ(p1->micro_batch_size, 2);
  EXPECT_EQ(p1->gradient_accumulation_steps, 1);
  EXPECT_EQ(p2->datasets[0].type, DatasetType::kLimarp);
  EXPECT_EQ(p2->lora_model_dir, p1->output_dir);
  EXPECT_DOUBLE_EQ(p2->learning_rate, 0.0006);
  EXPECT_DOUBLE_EQ(p2->lora_dropout, 0.0);
  EXPECT_EQ(p2->micro_batch_size, 1);
  EXPECT_EQ(p2->gradient_accumulation_steps, 8);
}

}  // namespace
}  // namespace limarp::train
