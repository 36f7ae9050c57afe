// RoPE scaling against the python3-torch oracle (tests/reference/rope_oracle.py, written from
// the publications): a tiny Llama with head size 32 trained at 16 positions runs 48 tokens,
// three times its context, for every scaling type, read from a Hugging Face config.json, set
// from the command-line overrides, chosen automatically, and read from a GGUF built from
// llama.cpp's documented keys. Without scaling nothing changes bit for bit.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "formats/gguf.h"
#include "infer/model_writer.h"
#include "kernels/rope.h"
#include "model/reference_model.h"
#include "model/rope_options.h"

namespace limarp {
namespace {

using testing::max_abs_diff;

// As in forward_reference_test.cc: f32 end to end, summation order only. A wrong frequency for
// one pair, or a missing attention factor, moves logits by far more (checked below).
constexpr double kRopeTol = 1e-4;
constexpr int64_t kRunTokens = 48;

Reference rope_reference(const std::string& name, int seed, const std::string& scaling, bool in_config) {
  return make_reference(name, fmt::format("--rope-shape --ctx 16 --tokens {} --seed {} --rope-scaling '{}'{}", kRunTokens,
                                          seed, scaling, in_config ? "" : " --no-config-scaling"));
}

LlamaModel load_for_run(const std::string& path, const RopeOverrides& o) {
  auto model = LlamaModel::load(path);
  EXPECT_TRUE(model.ok()) << model.error().message();
  auto line = model->apply_rope_overrides(o, kRunTokens);
  EXPECT_TRUE(line.ok()) << line.error().message();
  return std::move(*model);
}

struct HfCase {
  const char* name;
  const char* scaling;  // config.json's rope_scaling
  RopeScalingType type;
};

void PrintTo(const HfCase& c, std::ostream* os) { *os << c.name; }

class RopeFromHfConfig : public ::testing::TestWithParam<HfCase> {};

TEST_P(RopeFromHfConfig, MatchesTorchBeyondTheTrainedContext) {
  const HfCase c = GetParam();
  Reference ref = rope_reference(std::string("rope_hf_") + c.name, 71, c.scaling, true);
  ASSERT_EQ(ref.tokens.size(), static_cast<size_t>(kRunTokens));
  LlamaModel model = load_for_run(ref.dir, {});
  EXPECT_EQ(model.config().rope_scaling.type, c.type);
  EXPECT_EQ(model.config().context_length, 16);
  EXPECT_LT(max_abs_diff(run_model(model, ref, 2), ref.logits("f32")), kRopeTol) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Types, RopeFromHfConfig,
    ::testing::Values(
        HfCase{"linear", R"({"type": "linear", "factor": 3.0})", RopeScalingType::kLinear},
        HfCase{"dynamic", R"({"rope_type": "dynamic", "factor": 2.0})", RopeScalingType::kDynamic},
        HfCase{"yarn", R"({"rope_type": "yarn", "factor": 3.0, "beta_fast": 2.0, "beta_slow": 0.05})",
               RopeScalingType::kYarn},
        HfCase{"llama3",
               R"({"rope_type": "llama3", "factor": 3.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, )"
               R"("original_max_position_embeddings": 16})",
               RopeScalingType::kLlama3}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(RopeScaling, OverridesMatchTorch) {
  struct Case {
    const char* name;
    const char* scaling;  // what the oracle computes
    RopeOverrides o;
  };
  RopeOverrides ntk, yarn, ropeconfig;
  ntk.type = RopeScalingType::kNtk;
  ntk.scale = 3;
  yarn.type = RopeScalingType::kYarn;
  yarn.scale = 3;
  ropeconfig.freq_scale = 1.0f / 3;  // --ropeconfig 0.3333 10000: linear x3
  ropeconfig.freq_base = 10000;
  const Case cases[] = {{"ntk", R"({"rope_type": "ntk", "factor": 3.0})", ntk},
                        {"yarn", R"({"rope_type": "yarn", "factor": 3.0})", yarn},
                        {"ropeconfig", R"({"rope_type": "linear", "factor": 3.0})", ropeconfig},
                        // Nothing asked, 48 > 16 tokens: NTK-aware with s = 48 / 16.
                        {"automatic", R"({"rope_type": "ntk", "factor": 3.0})", RopeOverrides{}}};
  for (const Case& c : cases) {
    Reference ref = rope_reference(std::string("rope_cli_") + c.name, 73, c.scaling, false);
    ASSERT_EQ(ref.tokens.size(), static_cast<size_t>(kRunTokens));
    LlamaModel model = load_for_run(ref.dir, c.o);
    const auto want = ref.logits("f32");
    EXPECT_LT(max_abs_diff(run_model(model, ref, 2), want), kRopeTol) << c.name;
    if (std::string(c.name) == "automatic") {
      // The scaling is what made the difference: unscaled, the logits are far off.
      RopeOverrides none;
      none.type = RopeScalingType::kNone;
      EXPECT_GT(max_abs_diff(run_model(load_for_run(ref.dir, none), ref, 2), want), 100 * kRopeTol);
    }
  }
}

TEST(RopeScaling, GgufRoundTripAndLlamaCppKeysLoadTheSameScaling) {
  const char* scaling = R"({"rope_type": "yarn", "factor": 3.0, "beta_fast": 2.0, "beta_slow": 0.05})";
  Reference ref = rope_reference("rope_gguf", 79, scaling, true);
  ASSERT_EQ(ref.tokens.size(), static_cast<size_t>(kRunTokens));
  const auto want = ref.logits("f32");
  auto hf = LlamaModel::load(ref.dir);
  ASSERT_TRUE(hf.ok());
  WriteOptions w;
  w.recipe = QuantRecipe::parse("f32").value();
  const std::string ours = ref.dir + "/ours.gguf";
  ASSERT_TRUE(write_model(*hf, ours, w).ok());
  LlamaModel converted = load_for_run(ours, {});
  EXPECT_EQ(converted.metadata().get_string("llama.rope.scaling.type"), "yarn");
  EXPECT_LT(max_abs_diff(run_model(converted, ref, 2), want), kRopeTol);

  // The keys as llama.cpp's convert_hf_to_gguf writes them, on a file without limarp's.
  Metadata m = converted.metadata();
  for (const char* k : {"llama.rope.scaling.type", "llama.rope.scaling.factor", "llama.rope.scaling.yarn_beta_fast",
                        "llama.rope.scaling.yarn_beta_slow", "llama.rope.scaling.yarn_ext_factor",
                        "llama.rope.scaling.yarn_attn_factor", "llama.rope.scaling.original_context_length"})
    m.erase(k);
  Metadata bare = m;
  ASSERT_FALSE(LlamaConfig::from_metadata(bare, "bare").value().rope_scaling.active());
  m.set("llama.rope.scaling.type", MetaValue::str("yarn"));
  m.set("llama.rope.scaling.factor", MetaValue::f32(3.0f));
  m.set("llama.rope.scaling.original_context_length", MetaValue::u32(16));
  m.set("llama.rope.scaling.yarn_beta_fast", MetaValue::f32(2.0f));
  m.set("llama.rope.scaling.yarn_beta_slow", MetaValue::f32(0.05f));
  const std::string theirs = ref.dir + "/llama_cpp_keys.gguf";
  ASSERT_TRUE(write_gguf(theirs, m, converted.canonical_tensors(nullptr)).ok());
  LlamaModel llama_cpp = load_for_run(theirs, {});
  EXPECT_EQ(llama_cpp.config().rope_scaling.original_context, 16);
  EXPECT_LT(max_abs_diff(run_model(llama_cpp, ref, 2), want), kRopeTol);

  // Back to a Hugging Face folder: config.json carries rope_scaling again.
  const std::string folder = ref.dir + "/hf_again";
  ASSERT_TRUE(write_model(llama_cpp, folder, {}).ok());
  LlamaModel again = load_for_run(folder, {});
  EXPECT_EQ(again.config().rope_scaling.type, RopeScalingType::kYarn);
  EXPECT_LT(max_abs_diff(run_model(again, ref, 2), want), kRopeTol);
}

TEST(RopeScaling, NoScalingIsBitIdenticalToTheUnscaledTable) {
  LlamaConfig c = named_shape("tiny-odd").value();
  const RopeFrequencies f = c.rope_frequencies();
  std::vector<float> plain(static_cast<size_t>(c.head_dim() / 2));
  kernels::rope_inv_freq(plain.data(), c.head_dim(), c.rope_theta);
  EXPECT_EQ(f.inv_freq, plain);
  EXPECT_EQ(f.mscale, 1.0f);
  // Nothing asked within the trained context: no scaling, and the log line says so.
  auto line = apply_rope_overrides(c, {}, c.context_length);
  ASSERT_TRUE(line.ok());
  EXPECT_FALSE(c.rope_scaling.active());
  EXPECT_EQ(c.rope_frequencies().inv_freq, plain);
  EXPECT_EQ(c.usable_context(), c.context_length);
}

TEST(RopeScaling, OptionsResolveAndContextGrows) {
  LlamaConfig c = named_shape("llama2-7b").value();
  auto line = apply_rope_overrides(c, {}, 16384);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kNtk);
  EXPECT_FLOAT_EQ(c.rope_scaling.factor, 4.0f);
  EXPECT_NE(line->find("automatic"), std::string::npos) << *line;
  EXPECT_EQ(c.usable_context(), 16384);

  LlamaConfig l = named_shape("llama2-7b").value();
  RopeOverrides scale_only;
  scale_only.scale = 2;  // llama.cpp's --rope-scale alone: linear
  ASSERT_TRUE(apply_rope_overrides(l, scale_only, 0).ok());
  EXPECT_EQ(l.rope_scaling.type, RopeScalingType::kLinear);
  EXPECT_EQ(l.usable_context(), 8192);

  RopeOverrides clash;
  clash.scale = 2;
  clash.freq_scale = 0.25f;
  auto bad = apply_rope_overrides(l, clash, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("--rope-freq-scale"), std::string::npos) << bad.error().message();
}

TEST(RopeScaling, MetadataErrorsNameTheKey) {
  Metadata m;
  named_shape("tiny").value().to_metadata(m);
  m.set("llama.rope.scaling.type", MetaValue::str("longrope"));
  auto r = LlamaConfig::from_metadata(m, "x.gguf");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("x.gguf: llama.rope.scaling.type is \"longrope\""), std::string::npos)
      << r.error().message();

  Metadata legacy;
  named_shape("tiny").value().to_metadata(legacy);
  legacy.set("llama.rope.scale_linear", MetaValue::f32(2.0f));  // files from before scaling.*
  auto c = LlamaConfig::from_metadata(legacy, "old.gguf");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->rope_scaling.type, RopeScalingType::kLinear);
  EXPECT_FLOAT_EQ(c->rope_scaling.factor, 2.0f);
}

}  // namespace
}  // namespace limarp
