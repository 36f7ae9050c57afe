// The forward pass against the python3-torch oracle (tests/reference/tiny_llama.py): a tiny
// random Llama with GQA, three layers and odd sizes in the Hugging Face layout. Logits must
// match for a multi-token prompt and for single-token decode steps through the KV cache, read
// directly and after conversion to GGUF in f32, f16 and bf16, and for any thread count.
#include <gtest/gtest.h>

#include <filesystem>

#include "base/json_util.h"
#include "base/thread_pool.h"
#include "infer/model_writer.h"
#include "kernels/attention.h"
#include "kernels/weight_kernels.h"
#include "model/forward.h"
#include "model/reference_model.h"
#include "support/test_support.h"
#include "tensor/dtype.h"
#include "tensor/row_interleave.h"

namespace limarp {
namespace {

namespace fs = std::filesystem;
using testing::max_abs_diff;

// Tolerances: f32 end to end is limited by summation order (~1e-6 relative); 1e-4 absolute on
// logits of magnitude ~1..5 leaves a wide margin without hiding a real bug (a wrong rotary
// pair or head mapping moves logits by 0.1 or more).
constexpr double kTolF32 = 1e-4;

TEST(ForwardReference, HfFolderMatchesTorch) {
  Reference ref = make_reference("fwd_hf", "");
  ASSERT_FALSE(ref.tokens.empty());
  auto model = LlamaModel::load(ref.dir);
  ASSERT_TRUE(model.ok()) << model.error().message();
  EXPECT_EQ(model->config().rope_layout, RopeLayout::kHalf);
  EXPECT_FALSE(model->config().tied_output);
  const auto got = run_model(*model, ref, 2);
  const auto want = ref.logits("f32");
  ASSERT_EQ(got.size(), want.size());
  EXPECT_LT(max_abs_diff(got, want), kTolF32);
}

TEST(ForwardReference, ShardedTiedMatchesTorch) {
  Reference ref = make_reference("fwd_sharded", "--sharded --tied --seed 7");
  ASSERT_FALSE(ref.tokens.empty());
  auto model = LlamaModel::load(ref.dir);
  ASSERT_TRUE(model.ok()) << model.error().message();
  EXPECT_TRUE(model->config().tied_output);
  EXPECT_LT(max_abs_diff(run_model(*model, ref, 1), ref.logits("f32")), kTolF32);
}

TEST(ForwardReference, LongPromptMatchesTorch) {
  // 60 tokens: the prompt (55) goes through the blocked attention, a full block of queries and a
  // partial one; then again as 20 tokens and 35 more, the second batch attending to cached keys.
  Reference ref = make_reference("fwd_long", "--seed 61 --tokens 60");
  ASSERT_EQ(ref.tokens.size(), 60u);
  ASSERT_GT(ref.n_prompt, kernels::kAttentionBlock);
  auto model = LlamaModel::load(ref.dir);
  ASSERT_TRUE(model.ok());
  const std::vector<float> want = ref.logits("f32");
  EXPECT_LT(max_abs_diff(run_model(*model, ref, 2), want), kTolF32);

  ThreadPool pool(2);
  Forward fwd(*model, pool);
  KvCache cache(model->config(), 64, DType::kF32);
  std::span<const int32_t> prompt = std::span<const int32_t>(ref.tokens).first(static_cast<size_t>(ref.n_prompt));
  std::vector<float> first, second;
  ASSERT_TRUE(fwd.eval(prompt.first(20), cache, first, LogitsWanted::kAll).ok());
  ASSERT_TRUE(fwd.eval(prompt.subspan(20), cache, second, LogitsWanted::kAll).ok());
  first.insert(first.end(), second.begin(), second.end());
  EXPECT_LT(max_abs_diff(first, std::vector<float>(want.begin(), want.begin() + ref.n_prompt * ref.vocab)), kTolF32);
}

TEST(ForwardReference, ResultsIndependentOfThreadCount) {
  Reference ref = make_reference("fwd_threads", "--seed 3");
  ASSERT_FALSE(ref.tokens.empty());
  auto model = LlamaModel::load(ref.dir);
  ASSERT_TRUE(model.ok());
  const auto one = run_model(*model, ref, 1);
  for (int t : {2, 3, 5}) EXPECT_EQ(run_model(*model, ref, t), one) << t << " threads";
}

TEST(ForwardReference, BatchOfSequencesEqualsSeparateRuns) {
  Reference ref = make_reference("fwd_batch", "--seed 5");
  ASSERT_FALSE(ref.tokens.empty());
  auto model = LlamaModel::load(ref.dir);
  ASSERT_TRUE(model.ok());
  ThreadPool pool(2);
  Forward fwd(*model, pool);
  // Two sequences of different lengths in one call give the same logits as alone.
  std::span<const int32_t> all(ref.tokens);
  KvCache a(model->config(), 64, DType::kF32), b(model->config(), 64, DType::kF32),
      solo(model->config(), 64, DType::kF32);
  std::vector<float> la, lb, ls;
  BatchItem items[2] = {{all.first(5), &a, LogitsWanted::kLast, &la, nullptr},
                        {all.subspan(2, 9), &b, LogitsWanted::kLast, &lb, nullptr}};
  ASSERT_TRUE(fwd.eval(items).ok());
  ASSERT_TRUE(fwd.eval(all.subspan(2, 9), solo, ls).ok());
  EXPECT_EQ(lb, ls);
  const auto want = ref.logits("f32");
  std::vector<float> row4(want.begin() + 4 * ref.vocab, want.begin() + 5 * ref.vocab);
  EXPECT_LT(max_abs_diff(la, row4), kTolF32);
}

struct ConvertCase {
  const char* type;
  double tolerance;  // against the torch logits computed with weights rounded the same way
};

void PrintTo(const ConvertCase& c, std::ostream* os) { *os << c.type; }

class ForwardConverted : public ::testing::TestWithParam<ConvertCase> {};

TEST_P(ForwardConverted, GgufMatchesTorch) {
  const ConvertCase c = GetParam();
  Reference ref = make_reference(std::string("fwd_gguf_") + c.type, "--seed 11");
  ASSERT_FALSE(ref.tokens.empty());
  auto hf = LlamaModel::load(ref.dir);
  ASSERT_TRUE(hf.ok());
  const std::string out = ref.dir + "/model.gguf";
  WriteOptions w;
  w.recipe = QuantRecipe::parse(c.type).value();
  ASSERT_TRUE(write_model(*hf, out, w).ok());
  auto gguf = LlamaModel::load(out);
  ASSERT_TRUE(gguf.ok()) << gguf.error().message();
  EXPECT_EQ(gguf->config().rope_layout, RopeLayout::kInterleaved);
  EXPECT_EQ(gguf->layer(0).wq.type, w.recipe->base_type());
  EXPECT_LT(max_abs_diff(run_model(*gguf, ref, 2), ref.logits(c.type)), c.tolerance) << c.type;
}

// 16-bit: the reference rounds the same matrices to the same type, so only summation order and
// activation rounding differ; kept as tight as f32.
INSTANTIATE_TEST_SUITE_P(Types, ForwardConverted,
                         ::testing::Values(ConvertCase{"f32", kTolF32}, ConvertCase{"f16", kTolF32},
                                           ConvertCase{"bf16", kTolF32}),
                         [](const auto& p) { return std::string(p.param.type); });

TEST(ForwardReference, Bf16StoredHfFolderMatchesTorch) {
  Reference ref = make_reference("fwd_bf16_store", "--dtype bf16 --seed 13");
  ASSERT_FALSE(ref.tokens.empty());
  auto model = LlamaModel::load(ref.dir);
  ASSERT_TRUE(model.ok()) << model.error().message();
  EXPECT_EQ(model->layer(1).w_up.type, DType::kBF16);
  EXPECT_LT(max_abs_diff(run_model(*model, ref, 2), ref.logits("f32")), kTolF32);
}

}  // namespace
}  // namespace limarp

namespace limarp {
namespace {

// Quantized versions of a model stay close to f32. Metric: the mean KL divergence
// KL(p_f32 || p_quant) of next-token distributions over a 12-token sequence, and the share of
// positions whose top token is unchanged.
struct QuantQuality {
  double mean_kl;
  double top1_agreement;
};

QuantQuality compare(const std::vector<float>& ref, const std::vector<float>& got, int64_t vocab) {
  const int64_t rows = static_cast<int64_t>(ref.size()) / vocab;
  double kl = 0, agree = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = ref.data() + r * vocab;
    const float* b = got.data() + r * vocab;
    const double ma = *std::max_element(a, a + vocab), mb = *std::max_element(b, b + vocab);
    double za = 0, zb = 0;
    for (int64_t i = 0; i < vocab; ++i) {
      za += std::exp(a[i] - ma);
      zb += std::exp(b[i] - mb);
    }
    for (int64_t i = 0; i < vocab; ++i) {
      const double pa = std::exp(a[i] - ma) / za, pb = std::exp(b[i] - mb) / zb;
      kl += pa * (std::log(pa) - std::log(pb));
    }
    agree += (std::max_element(a, a + vocab) - a) == (std::max_element(b, b + vocab) - b);
  }
  return {kl / static_cast<double>(rows), agree / static_cast<double>(rows)};
}

TEST(ForwardReference, QuantizedModelsStayCloseToF32) {
  Reference ref = make_reference("fwd_quant", "--wide --seed 21");
  ASSERT_FALSE(ref.tokens.empty());
  auto hf = LlamaModel::load(ref.dir);
  ASSERT_TRUE(hf.ok()) << hf.error().message();
  const auto want = ref.logits("f32");
  ASSERT_LT(max_abs_diff(run_model(*hf, ref, 2), want), kTolF32);
  // Two checks per type. (1) Against the f32 model: the error of the quantized weights
  // themselves; bounds are ~1.5x what this random model measured (q8_0 1.1e-3, q6_k 8.5e-3,
  // q4_k 0.10, q4_0 0.15, q4_k_m 0.094, nf4 0.17). (2) Against the same quantized weights
  // computed in f32 (dequantized): only the kernels' int8 activations differ, so the KL must be
  // tiny (measured <= 5e-4 with a scale per 32 activations, 9.1e-4 for q6_k under AVX2, whose
  // kernel scales them per 256); a broken kernel gives KL near 1.
  const struct {
    const char* type;
    double max_kl;
  } cases[] = {{"q8_0", 2e-3}, {"q6_k", 1.3e-2}, {"q4_k", 0.15}, {"q4_0", 0.22}, {"q4_k_m", 0.14}, {"nf4", 0.25}};
  for (const auto& c : cases) {
    WriteOptions w;
    w.recipe = QuantRecipe::parse(c.type).value();
    const std::string out = ref.dir + "/" + c.type + ".gguf";
    ASSERT_TRUE(write_model(*hf, out, w).ok()) << c.type;
    auto q = LlamaModel::load(out);
    ASSERT_TRUE(q.ok()) << q.error().message();
    const auto quant_logits = run_model(*q, ref, 2);
    const QuantQuality vs_f32 = compare(want, quant_logits, ref.vocab);
    WriteOptions widen;
    widen.recipe = QuantRecipe::parse("f32").value();
    ASSERT_TRUE(write_model(*q, out + ".f32.gguf", widen).ok());
    auto dequantized = LlamaModel::load(out + ".f32.gguf");
    ASSERT_TRUE(dequantized.ok());
    const QuantQuality vs_same_weights = compare(run_model(*dequantized, ref, 2), quant_logits, ref.vocab);
    std::printf("%-7s KL vs f32 %.2e (top-1 agreement %.2f); KL vs the same weights in f32 %.2e\n", c.type,
                vs_f32.mean_kl, vs_f32.top1_agreement, vs_same_weights.mean_kl);
    EXPECT_LT(vs_f32.mean_kl, c.max_kl) << c.type;
    EXPECT_LT(vs_same_weights.mean_kl, 2e-3) << c.type;
  }
}

TEST(ForwardReference, InterleavedLayoutsGiveTheStoredLogits) {
  // 45 tokens: the 40-token prompt runs the AMX prompt GEMM where the CPU has it, the decode
  // steps the 16-row kernels; both must see the same weights as the stored layouts do (under
  // LIMARP_ISA=avx2 the AVX2 ones; a level without them regroups nothing).
  Reference ref = make_reference("fwd_interleaved", "--wide --seed 23 --tokens 45");
  ASSERT_EQ(ref.tokens.size(), 45u);
  auto hf = LlamaModel::load(ref.dir);
  ASSERT_TRUE(hf.ok()) << hf.error().message();
  int regrouped_types = 0;
  for (const char* type : {"q4_0", "q8_0", "q4_k", "q6_k"}) {
    WriteOptions w;
    w.recipe = QuantRecipe::parse(type).value();
    const std::string path = ref.dir + "/" + type + ".gguf";
    ASSERT_TRUE(write_model(*hf, path, w).ok());
    auto stored = LlamaModel::load(path), regrouped = LlamaModel::load(path);
    ASSERT_TRUE(stored.ok() && regrouped.ok());
    ThreadPool prep_pool(2);
    CpuBackend cpu(prep_pool);
    const int64_t matrices = regrouped->prepare_weights(cpu);
    if (matrices == 0) {
      std::printf("%s: no SIMD kernel for its regrouped layout at this level; not regrouped\n", type);
      continue;
    }
    ++regrouped_types;
    EXPECT_EQ(matrices, 7 * regrouped->config().n_layers + 1) << type;  // every projection and the output
    EXPECT_EQ(regrouped->weight_type_name(), type);
    const auto got = run_model(*regrouped, ref, 2), want = run_model(*stored, ref, 2);
    // Both against the same quantized weights computed in f32: only int8 activations differ, so
    // the KL is tiny (measured <= 9.3e-4, AVX2 q4_k below); a wrong layout or kernel gives KL near 1.
    WriteOptions widen;
    widen.recipe = QuantRecipe::parse("f32").value();
    ASSERT_TRUE(write_model(*stored, path + ".f32.gguf", widen).ok());
    auto dequantized = LlamaModel::load(path + ".f32.gguf");
    ASSERT_TRUE(dequantized.ok());
    const auto exact = run_model(*dequantized, ref, 2);
    const QuantQuality stored_q = compare(exact, want, ref.vocab), regrouped_q = compare(exact, got, ref.vocab);
    const QuantQuality q = compare(want, got, ref.vocab);
    std::printf("%s: interleaved vs stored: max |logit difference| %.2e, KL %.2e; KL vs the same weights in f32: "
                "stored %.2e, interleaved %.2e\n",
                type, max_abs_diff(got, want), q.mean_kl, stored_q.mean_kl, regrouped_q.mean_kl);
    EXPECT_LT(regrouped_q.mean_kl, 2e-3) << type;
    const DType stored_type = *dtype_from_name(type);
    if (kernels::select_kernel(stored_type, 256, RowLayout::kInterleaved16)->act_block !=
        kernels::select_kernel(stored_type, 256)->act_block) {
      // The AVX2 q4_k kernel quantizes activations per 256 elements, not 32 (so it can apply
      // the weights' scales in integers): coarser, measured KL 9.3e-4 against 5.7e-4 for the
      // stored layout's kernel here, and 43 of 45 top tokens shared with it.
      EXPECT_LT(regrouped_q.mean_kl, 2.0 * stored_q.mean_kl + 1e-4) << type;
      continue;
    }
    // The same integer math in another order: logits agree to float rounding, except where a
    // rounding difference flips one int8 activation (seen once in q8_0's decode steps, 0.056
    // on one logit, as far from the f32 weights' logits as the stored layout's; with the AVX2
    // kernels in q4_0, 0.077, which turned one near-tie of this random model's 45 top tokens).
    EXPECT_LT(q.mean_kl, 1e-3) << type;
    EXPECT_GE(q.top1_agreement, 44.0 / 45.0) << type;
  }
  if (regrouped_types == 0) GTEST_SKIP() << "no SIMD kernels for the regrouped layouts on this CPU";
}

// The f16 KV cache (the default) against torch: keys and values rounded to half precision
// move logits by about 1e-3 here (bounded at 1e-2; a wrong head layout or conversion moves
// them by 0.1 or more) and leave the next-token distributions as good as unchanged. The long
// reference puts 40 prompt tokens through the blocked attention and decodes 5 after them.
TEST(ForwardReference, HalfKvCacheStaysCloseToTorch) {
  Reference ref = make_reference("fwd_half_kv", "--seed 61 --tokens 45");
  ASSERT_EQ(ref.tokens.size(), 45u);
  auto model = LlamaModel::load(ref.dir);
  ASSERT_TRUE(model.ok());
  const auto want = ref.logits("f32");
  const auto got = run_model(*model, ref, 2, nullptr, DType::kF16);
  const QuantQuality q = compare(want, got, ref.vocab);
  std::printf("f16 KV cache vs torch: max |logit difference| %.2e, KL %.2e\n", max_abs_diff(got, want), q.mean_kl);
  EXPECT_LT(max_abs_diff(got, want), 1e-2);
  EXPECT_LT(q.mean_kl, 1e-5);
  EXPECT_EQ(q.top1_agreement, 1.0);
}

}  // namespace
}  // namespace limarp
