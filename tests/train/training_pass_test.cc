// Properties of the training pass that need no oracle: gradient checkpointing and the thread
// count change nothing (bit for bit, dropout masks included); evaluation agrees with the
// inference forward pass; fresh LoRA factors start exactly at the base model; QLoRA's NF4
// base holds fewer bytes and stays close to the float base; row weights scale only their rows.
#include <gtest/gtest.h>

#include <cmath>

#include "base/half.h"
#include "base/rng.h"
#include "kernels/cpu/registry.h"
#include "kernels/cross_entropy.h"
#include "model/forward.h"
#include "model/random_init.h"
#include "model/training_pass.h"
#include "support/test_support.h"

namespace limarp {
namespace {

LlamaModel random_model(const char* shape, uint64_t seed) {
  LlamaConfig c = named_shape(shape).value();
  TensorStore store;
  store.source = std::string("random ") + shape;
  c.to_metadata(store.metadata);
  for (auto& t : random_llama_tensors(c, QuantRecipe::parse("f32").value(), seed, 0.1f)) {
    Tensor buf(t.type, t.shape);
    EXPECT_TRUE(t.fill(std::span<uint8_t>(buf.bytes(), buf.nbytes())).ok());
    store.add_owned(t.name, std::move(buf));
  }
  return std::move(LlamaModel::from_store(std::move(store)).value());
}

TrainBatch random_batch(int64_t vocab, std::vector<int64_t> lengths, uint64_t seed) {
  Rng rng(seed);
  TrainBatch b;
  for (int64_t n : lengths) {
    std::vector<int32_t> tokens(static_cast<size_t>(n)), targets(static_cast<size_t>(n));
    for (auto& t : tokens) t = static_cast<int32_t>(rng.next_u64() % static_cast<uint64_t>(vocab));
    for (int64_t i = 0; i < n; ++i)
      targets[i] = i + 1 < n && i >= 2 ? tokens[static_cast<size_t>(i + 1)] : kernels::kNoTarget;
    b.add_sequence(tokens, targets);
  }
  return b;
}

LoraTrainSpec all_projections(int64_t rank, float dropout) {
  LoraTrainSpec s;
  s.rank = rank;
  s.alpha = 2.0 * static_cast<double>(rank);
  s.dropout = dropout;
  s.targets.assign(std::begin(kAllProjections), std::end(kAllProjections));
  return s;
}

std::vector<std::vector<float>> gradients(TrainableModel& tm, const TrainBatch& b, int threads, Checkpointing ckpt) {
  ThreadPool pool(threads);
  TrainingPass pass(tm, pool, {ckpt, 64});
  tm.params().zero_grads();
  pass.forward(b, PassMode::kTrain, 0.01f, 777);
  pass.backward(b);
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < tm.params().size(); ++i) {
    const Tensor& g = tm.params()[i].grad;
    out.emplace_back(g.f32(), g.f32() + g.elements());
  }
  return out;
}

TEST(TrainingPass, CheckpointingAndThreadCountChangeNothing) {
  LlamaModel base = random_model("tiny-odd", 3);
  const TrainBatch b = random_batch(base.config().vocab_size, {40, 7, 90}, 5);
  for (bool full : {false, true}) {
    TrainableModel tm = full ? std::move(TrainableModel::full(base).value())
                             : std::move(TrainableModel::lora(base, all_projections(8, 0.1f), {}, 9).value());
    if (!full)  // B starts at zero; give it values so every factor has a gradient
      for (size_t i = 0; i < tm.params().size(); ++i)
        if (tm.params()[i].name.find("lora_B") != std::string::npos)
          for (int64_t j = 0; j < tm.params()[i].value.elements(); ++j)
            tm.params()[i].value.f32()[j] = 0.01f * static_cast<float>(j % 7) - 0.03f;
    const auto reference = gradients(tm, b, 1, Checkpointing::kOff);
    EXPECT_EQ(gradients(tm, b, 3, Checkpointing::kOff), reference) << (full ? "full" : "lora");
    EXPECT_EQ(gradients(tm, b, 2, Checkpointing::kPerLayer), reference) << (full ? "full" : "lora");
    double norm = 0;
    for (const auto& g : reference)
      for (float v : g) norm += static_cast<double>(v) * v;
    EXPECT_GT(norm, 0.0);
  }
}

TEST(TrainingPass, EvaluationEqualsTheInferenceForwardPass) {
  LlamaModel base = random_model("tiny-odd", 4);
  const TrainBatch b = random_batch(base.config().vocab_size, {33, 20}, 6);
  ThreadPool pool(2);
  // With dropout configured, evaluation must not drop anything; B = 0 makes it the base model.
  TrainableModel tm = std::move(TrainableModel::lora(base, all_projections(4, 0.5f), {}, 1).value());
  TrainingPass pass(tm, pool);
  const double got = pass.forward(b, PassMode::kEval, 0, 123);
  Forward fwd(base, pool);
  double want = 0;
  for (const SequenceSpan& s : b.sequences) {
    KvCache cache(base.config(), 64, DType::kF32);  // training attends in f32
    std::vector<float> logits;
    ASSERT_TRUE(fwd.eval(std::span(b.tokens).subspan(static_cast<size_t>(s.start), static_cast<size_t>(s.length)),
                         cache, logits, LogitsWanted::kAll)
                    .ok());
    std::vector<float> losses(static_cast<size_t>(s.length));
    kernels::cross_entropy_forward(losses.data(), logits.data(), &b.targets[static_cast<size_t>(s.start)], s.length,
                                   base.config().vocab_size);
    for (float l : losses) want += l;
  }
  EXPECT_NEAR(got, want, 1e-5 * want);
  // In training mode the same batch with dropout differs; a fresh adapter's output does not
  // depend on it (B = 0), so the loss is still the base model's.
  EXPECT_NEAR(pass.forward(b, PassMode::kTrain, 1.0f, 5), want, 1e-5 * want);
}

// Row weights scale each row's share of the gradient and nothing else: the gradient is
// linear in them, so weight 3 on some rows equals the plain gradient plus twice the gradient
// of a batch that targets only those rows. The returned loss stays unweighted.
TEST(TrainingPass, RowWeightsScaleTheirRowsGradients) {
  LlamaModel base = random_model("tiny-odd", 7);
  const TrainBatch plain = random_batch(base.config().vocab_size, {30, 12}, 8);
  TrainBatch weighted, only_heavy;
  for (const SequenceSpan& s : plain.sequences) {
    const auto from = static_cast<size_t>(s.start), n = static_cast<size_t>(s.length);
    std::span<const int32_t> tokens(&plain.tokens[from], n), targets(&plain.targets[from], n);
    std::vector<float> w(n, 1.0f);
    std::vector<int32_t> heavy_targets(n, kernels::kNoTarget);
    for (size_t i = 0; i < n; i += 5) {
      w[i] = 3.0f;
      heavy_targets[i] = targets[i];
    }
    weighted.add_sequence(tokens, targets, w);
    only_heavy.add_sequence(tokens, heavy_targets);
  }
  ASSERT_EQ(weighted.weights.size(), weighted.tokens.size());
  TrainableModel tm = std::move(TrainableModel::full(base).value());
  const auto g_plain = gradients(tm, plain, 2, Checkpointing::kOff);
  const auto g_weighted = gradients(tm, weighted, 2, Checkpointing::kOff);
  const auto g_heavy = gradients(tm, only_heavy, 2, Checkpointing::kOff);
  double worst = 0, scale = 0;
  for (size_t p = 0; p < g_plain.size(); ++p)
    for (size_t j = 0; j < g_plain[p].size(); ++j) {
      const double want = g_plain[p][j] + 2.0 * g_heavy[p][j];
      worst = std::max(worst, std::abs(g_weighted[p][j] - want));
      scale = std::max(scale, std::abs(want));
    }
  EXPECT_GT(scale, 0.0);
  EXPECT_LT(worst, 1e-5 * scale);
  ThreadPool pool(2);
  TrainingPass pass(tm, pool);
  EXPECT_DOUBLE_EQ(pass.forward(weighted, PassMode::kEval, 0, 1), pass.forward(plain, PassMode::kEval, 0, 1));
  // A sequence without weights after one with them weighs 1.
  TrainBatch mixed = weighted;
  mixed.add_sequence(std::span(plain.tokens).first(5), std::span(plain.targets).first(5));
  EXPECT_EQ(mixed.weights.size(), mixed.tokens.size());
  EXPECT_EQ(mixed.weight(mixed.rows() - 1), 1.0f);
}

// Length decisions reach the classifier's rows: a decision on a row whose target is its stop
// token adds its weight to the row's CE weight (the binary loss is then the CE); on a go-on row
// it changes the gradient, by nothing when its weight is 0. The kernel's formula itself is
// checked against finite differences in tests/kernels/backward_test.cc.
TEST(TrainingPass, StopChoicesWeighTheirRows) {
  LlamaModel base = random_model("tiny-odd", 8);
  const TrainBatch plain = random_batch(base.config().vocab_size, {30, 12}, 10);
  auto with = [&](float row_weight, float choice_weight, bool at_target) {
    TrainBatch b;
    for (const SequenceSpan& s : plain.sequences) {
      const auto from = static_cast<size_t>(s.start), n = static_cast<size_t>(s.length);
      std::span<const int32_t> tokens(&plain.tokens[from], n), targets(&plain.targets[from], n);
      std::vector<float> w(n, 1.0f);
      std::vector<StopChoice> c(n);
      for (size_t i = 1; i < n; i += 4) {
        if (targets[i] < 0) continue;
        w[i] = row_weight;
        const int32_t other = (targets[i] + 1) % static_cast<int32_t>(base.config().vocab_size);
        c[i] = {at_target ? targets[i] : other, choice_weight};
      }
      b.add_sequence(tokens, targets, w, c);
    }
    return b;
  };
  TrainableModel tm = std::move(TrainableModel::full(base).value());
  auto max_diff = [](const auto& a, const auto& b) {
    double worst = 0, scale = 0;
    for (size_t p = 0; p < a.size(); ++p)
      for (size_t j = 0; j < a[p].size(); ++j) {
        worst = std::max(worst, static_cast<double>(std::abs(a[p][j] - b[p][j])));
        scale = std::max(scale, static_cast<double>(std::abs(b[p][j])));
      }
    return worst / scale;
  };
  const auto g_plain = gradients(tm, plain, 2, Checkpointing::kOff);
  EXPECT_LT(max_diff(gradients(tm, with(1.0f, 2.5f, true), 2, Checkpointing::kOff),
                     gradients(tm, with(3.5f, 0.0f, true), 2, Checkpointing::kOff)),
            1e-5);
  EXPECT_LT(max_diff(gradients(tm, with(1.0f, 0.0f, false), 2, Checkpointing::kOff), g_plain), 1e-6);
  EXPECT_GT(max_diff(gradients(tm, with(1.0f, 2.5f, false), 2, Checkpointing::kOff), g_plain), 1e-3);
  ThreadPool pool(2);
  TrainingPass pass(tm, pool);
  EXPECT_DOUBLE_EQ(pass.forward(with(1.0f, 2.5f, false), PassMode::kEval, 0, 1),
                   pass.forward(plain, PassMode::kEval, 0, 1));
}

// bf16 LoRA: the pass computes with the factors rounded to bfloat16, exactly as an f32 pass
// over factors that hold those rounded values.
TEST(TrainingPass, Bf16LoraComputesWithRoundedFactors) {
  LlamaModel base = random_model("tiny-odd", 6);
  const TrainBatch b = random_batch(base.config().vocab_size, {30, 12}, 9);
  TrainableModel tm = std::move(TrainableModel::lora(base, all_projections(4, 0.0f), {}, 3).value());
  for (size_t i = 0; i < tm.params().size(); ++i)
    for (int64_t j = 0; j < tm.params()[i].value.elements(); ++j)
      tm.params()[i].value.f32()[j] = 0.0123f * static_cast<float>(j % 11) - 0.051f;
  ThreadPool pool(2);
  TrainingPass bf16(tm, pool, {Checkpointing::kOff, 256, TrainPrecision::kBF16});
  const double loss_bf16 = bf16.forward(b, PassMode::kEval, 0, 0);
  TrainingPass f32(tm, pool);
  const double loss_f32 = f32.forward(b, PassMode::kEval, 0, 0);
  EXPECT_NE(loss_bf16, loss_f32);
  for (size_t i = 0; i < tm.params().size(); ++i)
    for (int64_t j = 0; j < tm.params()[i].value.elements(); ++j) {
      float& v = tm.params()[i].value.f32()[j];
      v = bf16_to_f32(f32_to_bf16(v));
    }
  EXPECT_EQ(f32.forward(b, PassMode::kEval, 0, 0), loss_bf16);
}

// Mixed precision on a CPU with a matrix engine (AMX): the base-weight products (and the LoRA
// branches' factor products) round their operands to bf16 too. Against an f32 pass over the same (rounded) factors the loss stays
// within 1 % and every gradient within a relative L2 error of 10 % (bf16 operands add ~0.3 %
// per product; that compounds through six layers, and on random data the gradients are sums
// over tokens that largely cancel, so the measured error is ~4 %, while one swapped column
// pair in the backward product's tiles gives ~95 %), yet differ (the products did take the
// engine), and the thread count still changes nothing.
TEST(TrainingPass, Bf16BaseProductsStayCloseToF32) {
  const kernels::MatrixEngine* engine = kernels::active_level().matrix_engine;
  if (!engine || !engine->available()) GTEST_SKIP() << "no AMX-BF16 on this CPU: bf16 products run in f32 here";
  LlamaModel base = random_model("small", 12);  // every width a multiple of 32
  const TrainBatch b = random_batch(base.config().vocab_size, {48, 40}, 13);
  // Rank 32: the LoRA branches' factor products take the engine too.
  TrainableModel tm = std::move(TrainableModel::lora(base, all_projections(32, 0.1f), {}, 4).value());
  for (size_t i = 0; i < tm.params().size(); ++i)
    for (int64_t j = 0; j < tm.params()[i].value.elements(); ++j) {
      float& v = tm.params()[i].value.f32()[j];
      v = bf16_to_f32(f32_to_bf16(0.0123f * static_cast<float>(j % 11) - 0.051f));
    }
  auto run = [&](TrainPrecision precision, int threads, double& loss) {
    ThreadPool pool(threads);
    TrainingPass pass(tm, pool, {Checkpointing::kOff, 64, precision});
    tm.params().zero_grads();
    loss = pass.forward(b, PassMode::kTrain, 0.01f, 21);
    pass.backward(b);
    std::vector<std::vector<float>> out;
    for (size_t i = 0; i < tm.params().size(); ++i)
      out.emplace_back(tm.params()[i].grad.f32(), tm.params()[i].grad.f32() + tm.params()[i].grad.elements());
    return out;
  };
  double loss_f32 = 0, loss_bf16 = 0, loss_bf16_3 = 0;
  const auto g_f32 = run(TrainPrecision::kF32, 2, loss_f32);
  const auto g_bf16 = run(TrainPrecision::kBF16, 2, loss_bf16);
  EXPECT_EQ(run(TrainPrecision::kBF16, 3, loss_bf16_3), g_bf16);
  EXPECT_EQ(loss_bf16_3, loss_bf16);
  EXPECT_NE(loss_bf16, loss_f32);
  EXPECT_NEAR(loss_bf16, loss_f32, 1e-2 * std::fabs(loss_f32));
  for (size_t i = 0; i < g_f32.size(); ++i) {
    double err = 0, norm = 0;
    for (size_t j = 0; j < g_f32[i].size(); ++j) {
      err += std::pow(static_cast<double>(g_bf16[i][j]) - g_f32[i][j], 2);
      norm += std::pow(static_cast<double>(g_f32[i][j]), 2);
    }
    EXPECT_LT(std::sqrt(err / norm), 0.1) << "parameter " << i;
  }
}

// The memory plan's activation figure is what a pass really allocates.
TEST(TrainingPass, BufferPlanMatchesAllocation) {
  LlamaModel base = random_model("tiny-odd", 5);
  for (Checkpointing ckpt : {Checkpointing::kOff, Checkpointing::kPerLayer})
    for (float dropout : {0.0f, 0.2f}) {
      TrainableModel tm = std::move(TrainableModel::lora(base, all_projections(6, dropout), {}, 2).value());
      ThreadPool pool(1);
      TrainingPass pass(tm, pool, {ckpt, 64});
      const TrainBatch b = random_batch(base.config().vocab_size, {50, 27}, 8);
      pass.forward(b, PassMode::kTrain, 1.0f, 1);
      pass.backward(b);
      PassBufferShape shape;
      shape.rows = b.rows();
      shape.lora_rank = 6;
      shape.lora_targets = 7;
      shape.lora_dropout = dropout > 0;
      shape.checkpointing = ckpt;
      shape.classifier_rows = 64;
      EXPECT_EQ(pass.buffer_bytes(), TrainingPass::buffer_bytes_for(base.config(), shape));
    }
}

TEST(TrainingPass, QloraBaseIsSmallerAndClose) {
  LlamaModel base = random_model("small", 8);
  const TrainBatch b = random_batch(base.config().vocab_size, {48}, 7);
  ThreadPool pool(2);
  TrainableModel f32 = std::move(TrainableModel::lora(base, all_projections(4, 0.0f), {}, 1).value());
  TrainableModel nf4 =
      std::move(TrainableModel::lora(base, all_projections(4, 0.0f), BaseQuantization::kNF4DoubleQuant, 1).value());
  auto projection_bytes = [](const TrainableModel& tm) {
    uint64_t n = 0;
    for (const auto& l : tm.weights().layers)
      for (Projection p : kAllProjections) n += l.projection(p).nbytes;
    return n;
  };
  EXPECT_LT(projection_bytes(nf4) * 7, projection_bytes(f32));  // 4.5 bits instead of 32
  EXPECT_LT(nf4.frozen_bytes(), f32.frozen_bytes());
  EXPECT_EQ(nf4.weights().layers[0].wq.type, DType::kNF4);
  TrainingPass p32(f32, pool), p4(nf4, pool);
  const double l32 = p32.forward(b, PassMode::kEval, 0, 0), l4 = p4.forward(b, PassMode::kEval, 0, 0);
  EXPECT_NE(l32, l4);
  EXPECT_NEAR(l4, l32, 0.02 * l32);
  // Gradients flow through NF4 blocks to the factors.
  nf4.params().zero_grads();
  p4.forward(b, PassMode::kTrain, 1.0f / static_cast<float>(b.loss_tokens()), 0);
  p4.backward(b);
  EXPECT_GT(nf4.params().grad_norm(), 0.0);
  EXPECT_TRUE(std::isfinite(nf4.params().grad_norm()));
}

}  // namespace
}  // namespace limarp
