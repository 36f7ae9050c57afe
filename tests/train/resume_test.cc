// Checkpoints resume bit-identically: a run stopped at a checkpoint (by save_steps, or by a
// stop request as Ctrl-C makes one) and resumed ends with exactly the adapter, the losses and
// the optimizer state of the run that never stopped — with dropout, gradient accumulation and
// sample packing all active, on the real stories260K model. The thread count changes nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "support/test_support.h"
#include "train/trainer.h"

namespace limarp::train {
namespace {

std::string config_text(const std::string& model, const std::string& tok, const std::string& text,
                        const std::string& out) {
  return "base_model: " + model + "\ntokenizer_config: " + tok +
         "\nadapter: lora\nlora_r: 4\nlora_alpha: 8\nlora_dropout: 0.1\nlora_target_linear: true\n"
         "sequence_len: 96\nsample_packing: true\nmicro_batch_size: 2\ngradient_accumulation_steps: 2\n"
         "max_steps: 6\nlearning_rate: 0.002\nlr_scheduler: cosine\nwarmup_steps: 2\nweight_decay: 0.01\n"
         "save_steps: 3\nseed: 11\noutput_dir: " + out + "\ndatasets:\n  - path: " + text + "\n    type: completion\n";
}

std::vector<std::string> losses(const std::string& log, int64_t from_step) {
  std::vector<std::string> out;
  std::istringstream in(testing::read_file(log));
  std::string line;
  while (std::getline(in, line)) {
    const auto step_pos = line.find("\"step\":");
    const auto loss_pos = line.find("\"loss\":");
    if (step_pos == std::string::npos || loss_pos == std::string::npos) continue;
    if (std::stoll(line.substr(step_pos + 7)) < from_step) continue;
    out.push_back(line.substr(loss_pos, line.find(',', loss_pos) - loss_pos));
  }
  return out;
}

TrainerOptions resume_from(const std::string& dir) {
  TrainerOptions o;
  o.resume_from = dir;
  return o;
}

TrainSummary train(const std::string& yaml_path, TrainerOptions options, int threads = 2) {
  auto config = load_train_config(yaml_path);
  EXPECT_TRUE(config.ok()) << config.error().message();
  options.threads = threads;
  options.progress = false;
  auto trainer = Trainer::create(*config, options);
  EXPECT_TRUE(trainer.ok()) << trainer.error().message();
  auto s = (*trainer)->run();
  EXPECT_TRUE(s.ok()) << s.error().message();
  return *s;
}

TEST(Resume, CheckpointsContinueBitIdentically) {
  LIMARP_ASSET(model, "stories260K/stories260K.bin");
  LIMARP_ASSET(tok, "stories260K/tok512.bin");
  LIMARP_ASSET(text, "text/tinystories_first300.txt");
  const std::string dir = testing::scratch_dir("resume");
  auto write_config = [&](const std::string& name) {
    const std::string path = dir + "/" + name + ".yml";
    testing::write_file(path, config_text(model, tok, text, dir + "/" + name));
    return path;
  };
  // A: six steps without stopping (checkpoints at 3 and 6).
  const TrainSummary a = train(write_config("a"), {});
  ASSERT_EQ(a.steps, 6);
  ASSERT_FALSE(a.interrupted);
  // B: resumes A's step-3 checkpoint.
  const TrainSummary b = train(write_config("b"), resume_from(dir + "/a/checkpoint-3"));
  EXPECT_EQ(b.steps, 6);
  // C: asked to stop after its second step (what Ctrl-C does), then D resumes C.
  int polls = 0;
  TrainerOptions stop_early;
  stop_early.stop_requested = [&] { return ++polls >= 2; };
  const TrainSummary c = train(write_config("c"), stop_early);
  EXPECT_TRUE(c.interrupted);
  EXPECT_EQ(c.steps, 2);
  EXPECT_TRUE(std::filesystem::exists(dir + "/c/checkpoint-2/params.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/c/adapter_model.safetensors"));
  const TrainSummary d = train(write_config("c"), resume_from(dir + "/c/checkpoint-2"));
  EXPECT_EQ(d.steps, 6);

  // E: A again on one thread instead of two.
  const TrainSummary e = train(write_config("e"), {}, 1);
  EXPECT_EQ(e.steps, 6);

  const std::string final_a = testing::read_file(dir + "/a/adapter_model.safetensors");
  ASSERT_FALSE(final_a.empty());
  EXPECT_EQ(testing::read_file(dir + "/e/adapter_model.safetensors"), final_a) << "thread count changed the result";
  EXPECT_EQ(testing::read_file(dir + "/b/adapter_model.safetensors"), final_a);
  EXPECT_EQ(testing::read_file(dir + "/c/adapter_model.safetensors"), final_a);
  for (const char* f : {"params.safetensors", "optimizer.safetensors"}) {
    const std::string want = testing::read_file(dir + "/a/checkpoint-6/" + f);
    EXPECT_EQ(testing::read_file(dir + "/b/checkpoint-6/" + f), want) << f;
    EXPECT_EQ(testing::read_file(dir + "/c/checkpoint-6/" + f), want) << f;
  }
  const auto la = losses(dir + "/a/train_log.jsonl", 1);
  ASSERT_EQ(la.size(), 6u);
  EXPECT_EQ(losses(dir + "/b/train_log.jsonl", 4), std::vector<std::string>(la.begin() + 3, la.end()));
  EXPECT_EQ(losses(dir + "/c/train_log.jsonl", 1), la);  // C's log continues across the resume
  // The adapter changed from its start (B = 0) and a different seed gives a different run.
  EXPECT_NE(testing::read_file(dir + "/a/checkpoint-3/params.safetensors"),
            testing::read_file(dir + "/a/checkpoint-6/params.safetensors"));
}

TEST(Resume, RefusesACheckpointOfOtherData) {
  LIMARP_ASSET(model, "stories260K/stories260K.bin");
  LIMARP_ASSET(tok, "stories260K/tok512.bin");
  LIMARP_ASSET(text, "text/tinystories_first300.txt");
  const std::string dir = testing::scratch_dir("resume_other");
  std::string yaml = config_text(model, tok, text, dir + "/a");
  yaml.replace(yaml.find("max_steps: 6"), 12, "max_steps: 3");
  testing::write_file(dir + "/a.yml", yaml);
  train(dir + "/a.yml", {});
  yaml.replace(yaml.find("seed: 11"), 8, "seed: 12");
  testing::write_file(dir + "/b.yml", yaml);
  auto config = load_train_config(dir + "/b.yml");
  ASSERT_TRUE(config.ok());
  TrainerOptions options = resume_from(dir + "/a/checkpoint-3");
  options.progress = false;
  auto trainer = Trainer::create(*config, options);
  ASSERT_TRUE(trainer.ok());
  auto s = (*trainer)->run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("other data settings"), std::string::npos) << s.error().message();
}

}  // namespace
}  // namespace limarp::train
