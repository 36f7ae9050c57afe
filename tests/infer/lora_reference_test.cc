// LoRA adapters against the python3-torch oracle (tests/reference/tiny_lora.py): PEFT adapters
// saved by torch.save (fp32, fp16, bf16) and as safetensors, with LimaRP's config (r 256,
// alpha 16, all seven projections). Logits with the adapter applied at run time, after merging,
// and through a GGUF base with a GGUF LoRA all match PyTorch's W + (alpha/r)·B·A.
#include <gtest/gtest.h>

#include "base/thread_pool.h"
#include "infer/adapter_specs.h"
#include "infer/model_writer.h"
#include "model/adapter_set.h"
#include "model/lora_export.h"
#include "model/lora_merge.h"
#include "model/reference_model.h"

namespace limarp {
namespace {

using testing::max_abs_diff;
constexpr double kTol = 1e-4;  // f32 end to end; a wrong scale or row order moves logits by 0.1+

struct LoraFixture {
  Reference ref;
  std::string lora_dir;
  std::vector<float> logits(const std::string& variant) const {
    return testing::read_f32(lora_dir + "/logits_" + variant + ".f32");
  }
};

LoraFixture make_fixture(const std::string& name, const std::string& model_flags) {
  LoraFixture f;
  f.ref = make_reference(name, model_flags);
  f.lora_dir = f.ref.dir + "/lora";
  if (!f.ref.tokens.empty()) testing::run_reference("tiny_lora.py", f.ref.dir + " " + f.lora_dir);
  return f;
}

AdapterSet one(const std::string& path, const LlamaModel& base, float scale = 1.0f) {
  auto a = LoraAdapter::load(path, base);
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().message());
  AdapterSet set;
  if (a.ok()) set.add(std::make_shared<LoraAdapter>(std::move(a.value())), scale);
  return set;
}

TEST(LoraReference, RuntimeAdapterMatchesTorchForEveryFileKind) {
  LoraFixture f = make_fixture("lora_runtime", "--seed 31");
  ASSERT_FALSE(f.ref.tokens.empty());
  auto base = LlamaModel::load(f.ref.dir);
  ASSERT_TRUE(base.ok());
  for (const char* variant : {"peft_f32_st", "peft_f32_bin", "peft_f16_bin", "peft_bf16_bin", "peft_modsave_st"}) {
    AdapterSet set = one(f.lora_dir + "/" + variant, *base);
    ASSERT_EQ(set.size(), 1u) << variant;
    EXPECT_EQ(set.adapter(0).max_rank(), 256) << variant;
    EXPECT_EQ(set.adapter(0).pair_count(), 3 * 7) << variant;
    const auto got = run_model(*base, f.ref, 2, &set);
    EXPECT_LT(max_abs_diff(got, f.logits(variant)), kTol) << variant;
  }
}

TEST(LoraReference, ScalesAndSeveralAdaptersCompose) {
  LoraFixture f = make_fixture("lora_scales", "--seed 32");
  ASSERT_FALSE(f.ref.tokens.empty());
  auto base = LlamaModel::load(f.ref.dir);
  ASSERT_TRUE(base.ok());
  const std::string path = f.lora_dir + "/peft_f32_st";
  // Two halves of the same adapter equal the whole; scale 0 is the base model.
  AdapterSet halves = one(path, *base, 0.5f);
  auto second = LoraAdapter::load(path, *base);
  ASSERT_TRUE(second.ok());
  halves.add(std::make_shared<LoraAdapter>(std::move(second.value())), 0.5f);
  EXPECT_LT(max_abs_diff(run_model(*base, f.ref, 2, &halves), f.logits("peft_f32_st")), kTol);
  AdapterSet off = one(path, *base, 0.0f);
  EXPECT_EQ(run_model(*base, f.ref, 2, &off), run_model(*base, f.ref, 2));
  // Scales change between requests without reloading.
  off.set_scale(0, 1.0f);
  EXPECT_LT(max_abs_diff(run_model(*base, f.ref, 2, &off), f.logits("peft_f32_st")), kTol);
}

TEST(LoraReference, MergedModelMatchesTorch) {
  LoraFixture f = make_fixture("lora_merge", "--seed 33");
  ASSERT_FALSE(f.ref.tokens.empty());
  auto base = LlamaModel::load(f.ref.dir);
  ASSERT_TRUE(base.ok());
  ThreadPool pool(2);
  for (const char* variant : {"peft_f32_bin", "peft_modsave_st"}) {
    AdapterSet set = one(f.lora_dir + "/" + variant, *base);
    const auto edit = merge_edit(set, pool);
    for (const char* out : {"merged.gguf", "merged_hf"}) {
      WriteOptions w;
      w.edit = &edit;
      w.recipe = QuantRecipe::parse("f32").value();
      const std::string path = f.ref.dir + "/" + variant + "_" + out;
      ASSERT_TRUE(write_model(*base, path, w).ok()) << path;
      auto merged = LlamaModel::load(path);
      ASSERT_TRUE(merged.ok()) << merged.error().message();
      EXPECT_LT(max_abs_diff(run_model(*merged, f.ref, 2), f.logits(variant)), kTol) << variant << " " << out;
    }
  }
}

TEST(LoraReference, GgufBaseWithGgufLoraAndPeftRoundTrip) {
  LoraFixture f = make_fixture("lora_gguf", "--seed 34");
  ASSERT_FALSE(f.ref.tokens.empty());
  auto hf = LlamaModel::load(f.ref.dir);
  ASSERT_TRUE(hf.ok());
  const std::string gguf_base = f.ref.dir + "/base.gguf";
  ASSERT_TRUE(write_model(*hf, gguf_base, {}).ok());
  auto gguf = LlamaModel::load(gguf_base);
  ASSERT_TRUE(gguf.ok());
  const std::string peft = f.lora_dir + "/peft_f32_bin";
  const auto want = f.logits("peft_f32_bin");
  // A PEFT adapter (Hugging Face row order) on a GGUF base (interleaved): B is reordered.
  AdapterSet peft_on_gguf = one(peft, *gguf);
  EXPECT_LT(max_abs_diff(run_model(*gguf, f.ref, 2, &peft_on_gguf), want), kTol);
  // PEFT -> GGUF LoRA, used with the GGUF base and with the Hugging Face base.
  auto adapter = LoraAdapter::load(peft, *hf);
  ASSERT_TRUE(adapter.ok());
  const std::string gguf_lora = f.ref.dir + "/adapter.gguf";
  ASSERT_TRUE(write_gguf_lora(gguf_lora, *adapter, hf->config()).ok());
  AdapterSet g1 = one(gguf_lora, *gguf), g2 = one(gguf_lora, *hf);
  EXPECT_LT(max_abs_diff(run_model(*gguf, f.ref, 2, &g1), want), kTol);
  EXPECT_LT(max_abs_diff(run_model(*hf, f.ref, 2, &g2), want), kTol);
  // GGUF LoRA -> PEFT folder (safetensors), loaded again on the Hugging Face base.
  auto from_gguf = LoraAdapter::load(gguf_lora, *gguf);
  ASSERT_TRUE(from_gguf.ok());
  const std::string back = f.ref.dir + "/peft_back";
  ASSERT_TRUE(write_peft_folder(back, *from_gguf, gguf->config()).ok());
  AdapterSet p2 = one(back, *hf);
  EXPECT_LT(max_abs_diff(run_model(*hf, f.ref, 2, &p2), want), kTol);
}

TEST(LoraReference, WrongBaseAndUnsupportedConfigsAreRefusedByName) {
  LoraFixture f = make_fixture("lora_errors", "--seed 35");
  ASSERT_FALSE(f.ref.tokens.empty());
  Reference wide = make_reference("lora_errors_wide", "--wide --seed 35");
  auto other = LlamaModel::load(wide.dir);
  ASSERT_TRUE(other.ok());
  auto wrong = LoraAdapter::load(f.lora_dir + "/peft_f32_st", *other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find("wrong base model"), std::string::npos) << wrong.error().message();
  EXPECT_NE(wrong.error().message().find("lora_A"), std::string::npos) << wrong.error().message();

  auto dora = LoraConfig::parse(Json::parse(R"({"peft_type":"LORA","r":8,"lora_alpha":16,"use_dora":true})"), "cfg");
  ASSERT_FALSE(dora.ok());
  EXPECT_NE(dora.error().message().find("DoRA"), std::string::npos);
  auto bias = LoraConfig::parse(Json::parse(R"({"r":8,"bias":"all"})"), "cfg");
  ASSERT_FALSE(bias.ok());
  EXPECT_NE(bias.error().message().find("bias"), std::string::npos);
  auto rs = LoraConfig::parse(Json::parse(R"({"r":256,"lora_alpha":16,"use_rslora":true,
      "alpha_pattern":{"q_proj":32}, "rank_pattern":{"down_proj":64}})"), "cfg");
  ASSERT_TRUE(rs.ok());
  EXPECT_DOUBLE_EQ(rs->scale_for("model.layers.0.self_attn.q_proj", 256), 32.0 / 16.0);
  EXPECT_DOUBLE_EQ(rs->scale_for("model.layers.0.mlp.down_proj", 64), 16.0 / 8.0);
  EXPECT_DOUBLE_EQ(rs->scale_for("model.layers.0.mlp.up_proj", 256), 1.0);
  auto spec = parse_adapter_spec("/a:b/adapter:0.5");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->path, "/a:b/adapter");
  EXPECT_FLOAT_EQ(spec->scale, 0.5f);
}

}  // namespace
}  // namespace limarp
