// The training pass and optimizer against the python3-torch oracle (tests/reference/
// tiny_train.py) on the tiny random Llama of tiny_llama.py (3 layers, GQA, odd sizes):
//   - the loss of one step's objective and every LoRA gradient (r 4, all seven projections),
//   - the same for full-parameter training on a model with a tied embedding,
//   - the objective before each of 10 AdamW steps with warmup, cosine decay, clipping and
//     weight decay (torch.optim.AdamW + LambdaLR + clip_grad_norm_).
// Tolerances: gradients within 1e-4 of the largest gradient (f32 both sides, different
// summation orders; a wrong term is off by > 1e-2); losses within 2e-5 relative at step 0 and
// 1e-4 over ten steps (rounding differences grow slowly through Adam's normalisation).
#include <gtest/gtest.h>

#include <cmath>

#include "base/json_util.h"
#include "model/reference_model.h"
#include "model/training_pass.h"
#include "support/test_support.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

namespace limarp {
namespace {

using testing::read_f32;
using testing::read_i32;

struct TrainReference {
  std::string dir;
  std::string model_dir;
  std::vector<TrainBatch> batches;
  Json settings, grads;
};

TrainReference make_train_reference(const std::string& name, const std::string& model_flags, const std::string& mode) {
  TrainReference r;
  Reference model = make_reference(name, model_flags);
  r.model_dir = model.dir;
  r.dir = model.dir + "/train";
  if (model.tokens.empty() || !testing::run_reference("tiny_train.py", model.dir + " " + r.dir + " --mode " + mode))
    return r;
  for (int m = 0; m < 2; ++m) {
    const std::string stem = r.dir + "/batch" + std::to_string(m) + "_";
    const auto tokens = read_i32(stem + "tokens.i32"), targets = read_i32(stem + "targets.i32");
    TrainBatch b;
    size_t start = 0;
    for (int32_t n : read_i32(stem + "lengths.i32")) {
      b.add_sequence(std::span(tokens).subspan(start, static_cast<size_t>(n)),
                     std::span(targets).subspan(start, static_cast<size_t>(n)));
      start += static_cast<size_t>(n);
    }
    r.batches.push_back(std::move(b));
  }
  r.settings = read_json_file(r.dir + "/settings.json").value();
  r.grads = read_json_file(r.dir + "/grads.json").value();
  return r;
}

TrainableModel trainable(const TrainReference& r, const LlamaModel& base, const std::string& mode) {
  if (mode == "full") return std::move(TrainableModel::full(base).value());
  auto adapter = LoraAdapter::load(r.dir + "/adapter", base);
  EXPECT_TRUE(adapter.ok()) << adapter.error().message();
  return std::move(TrainableModel::lora_from_adapter(base, *adapter, 0.0f, BaseQuantization::kAsStored).value());
}

// One step's objective: sum of token losses over both micro-batches / their target count;
// gradients accumulate over the micro-batches.
double accumulate(TrainingPass& pass, TrainableModel& tm, const std::vector<TrainBatch>& batches) {
  int64_t count = 0;
  for (const auto& b : batches) count += b.loss_tokens();
  tm.params().zero_grads();
  double total = 0;
  for (const auto& b : batches) {
    total += pass.forward(b, PassMode::kTrain, 1.0f / static_cast<float>(count), 0);
    pass.backward(b);
  }
  return total / static_cast<double>(count);
}

double rel_err(const float* got, const std::vector<float>& want) {
  double diff = 0, mag = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(got[i]) - want[i]));
    mag = std::max(mag, std::fabs(static_cast<double>(want[i])));
  }
  return diff / (mag + 1e-30);
}

void check_gradients(const std::string& name, const std::string& flags, const std::string& mode) {
  TrainReference r = make_train_reference(name, flags, mode);
  ASSERT_FALSE(r.batches.empty());
  auto base = LlamaModel::load(r.model_dir);
  ASSERT_TRUE(base.ok()) << base.error().message();
  TrainableModel tm = trainable(r, *base, mode);
  ThreadPool pool(2);
  TrainingPass pass(tm, pool);
  const double loss = accumulate(pass, tm, r.batches);
  const double want_loss = read_f32(r.dir + "/loss0.f32").at(0);
  EXPECT_NEAR(loss, want_loss, 2e-5 * std::fabs(want_loss));
  ASSERT_EQ(r.grads.size(), tm.params().size());
  double worst = 0;
  for (const auto& [param_name, file] : r.grads.items()) {
    Parameter* p = tm.params().find(param_name);
    ASSERT_NE(p, nullptr) << param_name;
    const auto want = read_f32(r.dir + "/" + file.get<std::string>());
    ASSERT_EQ(static_cast<int64_t>(want.size()), p->grad.elements()) << param_name;
    const double err = rel_err(p->grad.f32(), want);
    worst = std::max(worst, err);
    EXPECT_LT(err, 1e-4) << param_name;
  }
  std::printf("%s: loss %.7f vs torch %.7f; worst gradient error %.2e of the largest\n", mode.c_str(), loss, want_loss,
              worst);
}

TEST(TrainingReference, LoraLossAndGradientsMatchTorch) { check_gradients("train_lora_grads", "--seed 41", "lora"); }

TEST(TrainingReference, FullParameterGradientsMatchTorchWithTiedEmbedding) {
  check_gradients("train_full_grads", "--seed 42 --tied", "full");
}

// Training at three times the trained context (8 positions; sequences of up to 12) with YaRN
// from config.json: the rotary table, its attention factor and their gradients as torch has them.
TEST(TrainingReference, LoraGradientsWithYarnScalingMatchTorch) {
  check_gradients("train_yarn_grads", R"(--seed 45 --ctx 4 --rope-scaling '{"rope_type": "yarn", "factor": 3.0}')",
                  "lora");
}

void check_ten_steps(const std::string& name, const std::string& flags, const std::string& mode) {
  TrainReference r = make_train_reference(name, flags, mode);
  ASSERT_FALSE(r.batches.empty());
  auto base = LlamaModel::load(r.model_dir);
  ASSERT_TRUE(base.ok());
  TrainableModel tm = trainable(r, *base, mode);
  ThreadPool pool(2);
  TrainingPass pass(tm, pool);
  const Json& s = r.settings;
  train::AdamW opt(tm.params(), {s["beta1"].get<double>(), s["beta2"].get<double>(), s["eps"].get<double>(),
                                 s["weight_decay"].get<double>()});
  const train::LrSchedule schedule{train::LrScheduler::kCosine, s["lr"].get<double>(),
                                   s["warmup_steps"].get<int64_t>(), s["steps"].get<int64_t>()};
  const auto want = read_f32(r.dir + "/losses.f32");
  ASSERT_EQ(static_cast<int64_t>(want.size()), s["steps"].get<int64_t>());
  double worst = 0;
  for (size_t step = 0; step < want.size(); ++step) {
    const double loss = accumulate(pass, tm, r.batches);
    train::clip_grad_norm(tm.params(), s["max_grad_norm"].get<double>());
    opt.step(schedule.at(static_cast<int64_t>(step)), pool);
    const double err = std::fabs(loss - want[step]) / std::fabs(want[step]);
    worst = std::max(worst, err);
    EXPECT_LT(err, 1e-4) << "step " << step << ": " << loss << " vs torch " << want[step];
  }
  EXPECT_LT(want.back(), 0.6 * want.front());  // the run really trains
  std::printf("%s: 10 AdamW steps, losses %.5f -> %.5f, worst relative difference from torch %.2e\n", mode.c_str(),
              want.front(), want.back(), worst);
}

TEST(TrainingReference, LoraTenAdamWStepsMatchTorch) { check_ten_steps("train_lora_steps", "--seed 43", "lora"); }

TEST(TrainingReference, FullTenAdamWStepsMatchTorch) { check_ten_steps("train_full_steps", "--seed 44", "full"); }

}  // namespace
}  // namespace limarp
