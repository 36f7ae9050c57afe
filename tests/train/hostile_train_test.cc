// Hostile training inputs (issue 21, rows 4 and 5): absurd config values are refused with the
// key named before anything is allocated, a memory plan larger than the limit is refused
// with the plan in the message, a trainer_state.json of the wrong shape names the field, and
// a dataset path that is a folder or a FIFO says so. The fuzz tests mutate configs and
// checkpoint states under a fixed seed and budget: every input ends in a value, never a crash
// (scripts/test.sh runs them under ASan and UBSan).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <random>

#include "base/json_util.h"
#include "base/log.h"
#include "base/memory_size.h"
#include "model/parameters.h"
#include "support/test_support.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/memory_plan.h"
#include "train/optimizer.h"
#include "train/train_config.h"

namespace limarp::train {
namespace {

constexpr const char* kBase = R"(base_model: model.gguf
adapter: lora
lora_r: 8
lora_alpha: 16
lora_dropout: 0.05
lora_target_linear: true
sequence_len: 256
micro_batch_size: 2
gradient_accumulation_steps: 1
max_steps: 4
learning_rate: 0.0002
warmup_steps: 1
save_steps: 2
val_set_size: 0.1
output_dir: out
datasets:
  - path: data.jsonl
    type: limarp
    truncated_copies: 2
    length_thresholds: [10, 20, 40, 80, 160, 320, 640]
)";

std::string with(const std::string& key, const std::string& value) {
  std::string text = kBase;
  const auto at = text.find("\n" + key + ":");
  if (at == std::string::npos) return text + key + ": " + value + "\n";
  const auto end = text.find('\n', at + 1);
  return text.substr(0, at + 1) + key + ": " + value + text.substr(end);
}

std::string error_of(const std::string& yaml) {
  auto c = parse_train_config(yaml, "t.yml");
  return c.ok() ? "" : c.error().message();
}

TEST(TrainConfigLimits, AbsurdValuesAreRefusedNamingTheKey) {
  ASSERT_EQ(error_of(kBase), "");
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"lora_r", "100000000"}, {"lora_r", "0"}, {"micro_batch_size", "100000000"},
           {"sequence_len", "9223372036854775807"}, {"lora_alpha", "3e38"}, {"lora_alpha", ".nan"},
           {"lora_dropout", "5"}, {"gradient_accumulation_steps", "4294967296"}, {"max_steps", "-1"},
           {"num_epochs", ".inf"}, {"weight_decay", ".inf"}, {"max_grad_norm", ".nan"}, {"save_steps", "1e300"},
           {"val_set_size", "1e300"}, {"logging_steps", "99999999999999999999"}}) {
    const std::string e = error_of(with(key, value));
    EXPECT_NE(e.find(key), std::string::npos) << key << ": " << value << " gave '" << e << "'";
  }
  // Each value below its bound but the product too large for one micro-batch.
  std::string both = with("micro_batch_size", "65536");
  both.replace(both.find("sequence_len: 256"), 17, "sequence_len: 1048576");
  EXPECT_NE(error_of(both).find("micro_batch_size x sequence_len"), std::string::npos) << error_of(both);
}

TEST(TrainMemoryPlan, LargerThanTheLimitIsRefusedWithThePlan) {
  MemoryPlanInput in = card_run();
  in.lora_rank = 65536;
  const MemoryPlan plan = plan_memory(in);
  const Status refused = check_memory_plan(plan, uint64_t{8} << 30);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("--max-memory"), std::string::npos) << refused.error().message();
  EXPECT_NE(refused.error().message().find("AdamW moments"), std::string::npos) << refused.error().message();
  EXPECT_TRUE(check_memory_plan(plan_memory(card_run()), uint64_t{1} << 50).ok());
  // Without --max-memory the machine's memory is the limit: no machine has 2^50 bytes.
  MemoryPlan huge;
  huge.activations = uint64_t{1} << 50;
  EXPECT_FALSE(check_memory_plan(huge, std::nullopt).ok());
}

TEST(TrainMemoryPlan, MemorySizesParse) {
  EXPECT_EQ(parse_memory_size("8G").value(), uint64_t{8} << 30);
  EXPECT_EQ(parse_memory_size("512M").value(), uint64_t{512} << 20);
  EXPECT_EQ(parse_memory_size("1.5GiB").value(), uint64_t{3} << 29);
  EXPECT_EQ(parse_memory_size("4096").value(), 4096u);
  for (const char* bad : {"", "G", "-1G", "8X", "1e300T", "nanG"}) EXPECT_FALSE(parse_memory_size(bad).ok()) << bad;
}

// A checkpoint folder whose trainer_state.json is `state`, loaded into an empty run.
Status load_state(const std::string& dir, const std::string& state) {
  testing::write_file(dir + "/trainer_state.json", state);
  ParameterSet params;
  AdamW optimizer(params, AdamWOptions{});
  TrainerState loaded;
  return load_checkpoint(dir, params, optimizer, loaded);
}

const Json kState = {{"format", "limarp-checkpoint-1"}, {"step", 3}, {"micro_batch_cursor", 6},
                     {"adam_steps", 3}, {"tokens_seen", 100}, {"rng", {"1", "2", "3", "18446744073709551615"}},
                     {"data_digest", "seq=96"}, {"params", Json::array()}};

TEST(CheckpointState, WrongTypesNameTheField) {
  const std::string dir = testing::scratch_dir("checkpoint_state_types");
  for (const char* field : {"format", "step", "micro_batch_cursor", "adam_steps", "tokens_seen", "rng", "data_digest",
                            "params"}) {
    for (const Json& bad : {Json(5), Json("x"), Json::array({1}), Json::object(), Json(-1), Json(nullptr)}) {
      Json j = kState;
      j[field] = bad;
      const Status s = load_state(dir, j.dump());
      ASSERT_FALSE(s.ok());
      const std::string m = s.error().message();
      // A value of the right type (e.g. "x" as data_digest) passes the state check and fails later.
      if (m.find("params.safetensors") != std::string::npos || m.find("parameters") != std::string::npos) continue;
      EXPECT_NE(m.find(field), std::string::npos) << field << "=" << bad.dump() << ": "
                                                                     << s.error().message();
    }
  }
  Json j = kState;
  j["format"] = 5;
  const Status s = load_state(dir, j.dump());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("format must be a string"), std::string::npos) << s.error().message();
  j = kState;
  j["rng"][1] = "12x";
  EXPECT_NE(load_state(dir, j.dump()).error().message().find("rng[1]"), std::string::npos);
}

TEST(DatasetPath, FoldersAndFifosSayWhatTheyAre) {
  const std::string dir = testing::scratch_dir("dataset_kinds");
  const std::string fifo = dir + "/pipe.jsonl";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto r = dataset_files(fifo, {".jsonl"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("FIFO"), std::string::npos) << r.error().message();
  r = dataset_files(dir + "/missing.jsonl", {".jsonl"});
  EXPECT_NE(r.error().message().find("does not exist"), std::string::npos) << r.error().message();
  auto cfg = load_train_config(dir);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().message().find("is a directory"), std::string::npos) << cfg.error().message();
  cfg = load_train_config(fifo);  // opening a FIFO would block: refused first
  EXPECT_NE(cfg.error().message().find("FIFO"), std::string::npos) << cfg.error().message();
}

// Mutations of text: a byte flipped, a span dropped or repeated, a hostile token spliced in.
std::string mutate(std::string text, std::mt19937_64& rng) {
  static const std::vector<std::string> kSplices = {
      "100000000", "-1", "1e308", ".nan", ".inf", "-9223372036854775808", "99999999999999999999999", "[", "]",
      "{a: [1, {b: 2}]}", "\xff\xfe\xc3", "\"\\u0000\"", "&a [1]", "*a", "!!binary AAAA", "? [1]\n: 2", "\n  - ",
      std::string(300, '['), "~", "true", "''", "{", ": :"};
  const int n = 1 + static_cast<int>(rng() % 4);
  for (int k = 0; k < n && !text.empty(); ++k) {
    const size_t at = rng() % text.size();
    switch (rng() % 4) {
      case 0: text[at] = static_cast<char>(rng() % 256); break;
      case 1: text.erase(at, rng() % 16); break;
      case 2: text.insert(at, text.substr(at, rng() % 32)); break;
      default: text.insert(at, kSplices[rng() % kSplices.size()]); break;
    }
  }
  return text;
}

// Mutated keys are warned about one by one; thousands of warnings would hide a failure.
class QuietLog {
 public:
  QuietLog() : previous_(log::level()) { log::set_level(log::Level::kError); }
  ~QuietLog() { log::set_level(previous_); }

 private:
  log::Level previous_;
};

TEST(TrainConfigFuzz, MutatedAndRandomConfigsEndInAValue) {
  QuietLog quiet;
  std::mt19937_64 rng(2101);
  const std::vector<std::string> keys = {"lora_r", "lora_alpha", "lora_dropout", "micro_batch_size", "sequence_len",
                                         "datasets", "lora_target_modules", "bnb_config_kwargs", "seed", "bf16",
                                         "num_epochs", "val_set_size", "adapter", "lr_scheduler"};
  const std::vector<std::string> values = {"[1, 2]", "{x: 1}", "100000000", "-5", "1e400", "'\xff'", "null",
                                           "[[[[[[[[[[[[1]]]]]]]]]]]]", "auto", "\"0x10\"", "- a\n- b"};
  int errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string yaml = kBase;
    if (i % 3 == 0) yaml = with(keys[rng() % keys.size()], values[rng() % values.size()]);
    else yaml = mutate(yaml, rng);
    auto c = parse_train_config(yaml, "fuzz.yml");
    if (!c.ok()) {
      ++errors;
      EXPECT_FALSE(c.error().message().empty());
      continue;
    }
    // What parses must be within the documented bounds the trainer relies on.
    EXPECT_GE(c->lora_r, 1);
    EXPECT_LE(c->micro_batch_size * c->sequence_len, int64_t{1} << 24);
  }
  EXPECT_GT(errors, 500);  // the mutations do reach the checks
}

TEST(CheckpointStateFuzz, MutatedStatesEndInAValue) {
  const std::string dir = testing::scratch_dir("checkpoint_state_fuzz");
  std::mt19937_64 rng(2102);
  const std::string base = kState.dump(1);
  for (int i = 0; i < 1500; ++i) {
    const Status s = load_state(dir, mutate(base, rng));
    // The state is valid JSON at best; with no tensor files beside it, it never fully loads.
    ASSERT_FALSE(s.ok());
    EXPECT_FALSE(s.error().message().empty());
  }
}

}  // namespace
}  // namespace limarp::train
