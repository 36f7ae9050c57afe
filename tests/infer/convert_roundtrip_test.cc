// Conversions keep tensors bit for bit when the type does not change: Hugging Face folder ->
// GGUF -> Hugging Face folder / single safetensors file, and llama2.c -> GGUF, with q/k rows
// reordered between layouts and back. A converted model also keeps its tokenizer.
#include <gtest/gtest.h>

#include <cstring>

#include "formats/gguf.h"
#include "infer/model_bundle.h"
#include "infer/model_writer.h"
#include "model/random_init.h"
#include "model/reference_model.h"

namespace limarp {
namespace {

// Every canonical tensor of `a` equals the one of `b` byte for byte, after putting both in
// the interleaved layout (canonical_tensors does the reordering, without changing types).
// With kSubset, `b` may hold tensors `a` lacks (a separate output matrix equal to a tied one).
enum class Match { kAll, kSubset };
void expect_same_tensors(const LlamaModel& a, const LlamaModel& b, Match match = Match::kAll) {
  auto ta = a.canonical_tensors(nullptr), tb = b.canonical_tensors(nullptr);
  if (match == Match::kSubset) {
    std::erase_if(tb, [&](const OutTensor& t) {
      return std::none_of(ta.begin(), ta.end(), [&](const OutTensor& u) { return u.name == t.name; });
    });
  }
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    ASSERT_EQ(ta[i].name, tb[i].name);
    ASSERT_EQ(ta[i].type, tb[i].type) << ta[i].name;
    ASSERT_EQ(ta[i].shape, tb[i].shape) << ta[i].name;
    std::vector<uint8_t> x(ta[i].nbytes()), y(tb[i].nbytes());
    ASSERT_TRUE(ta[i].fill(x).ok());
    ASSERT_TRUE(tb[i].fill(y).ok());
    EXPECT_EQ(x, y) << ta[i].name;
  }
}

TEST(ConvertRoundTrip, HfToGgufToHfIsBitExact) {
  for (const char* dtype : {"f32", "bf16"}) {
    Reference ref = make_reference(std::string("convert_rt_") + dtype, std::string("--seed 41 --dtype ") + dtype);
    ASSERT_FALSE(ref.tokens.empty());
    auto hf = LlamaModel::load(ref.dir);
    ASSERT_TRUE(hf.ok());
    ASSERT_TRUE(write_model(*hf, ref.dir + "/m.gguf", {}).ok());
    auto gguf = LlamaModel::load(ref.dir + "/m.gguf");
    ASSERT_TRUE(gguf.ok());
    expect_same_tensors(*hf, *gguf);
    for (const char* out : {"/back_hf", "/back.safetensors"}) {
      ASSERT_TRUE(write_model(*gguf, ref.dir + out, {}).ok()) << out;
      auto back = LlamaModel::load(ref.dir + out);
      ASSERT_TRUE(back.ok()) << back.error().message();
      EXPECT_EQ(back->config().rope_layout, RopeLayout::kHalf);
      expect_same_tensors(*hf, *back);
      // The Hugging Face files themselves hold the original bytes.
      const TensorView* orig = hf->store().find("blk.0.attn_q.weight");
      const TensorView* again = back->store().find("blk.0.attn_q.weight");
      ASSERT_TRUE(orig && again);
      ASSERT_EQ(orig->nbytes, again->nbytes);
      EXPECT_EQ(std::memcmp(orig->data, again->data, orig->nbytes), 0) << out;
    }
  }
}

TEST(ConvertRoundTrip, Llama2cToGgufKeepsWeightsAndTokenizer) {
  LIMARP_ASSET(bin, "stories260K/stories260K.bin");
  LIMARP_ASSET(tok, "stories260K/tok512.bin");
  LIMARP_ASSET(gguf_ref, "stories260K/stories260K.gguf");
  auto bundle = load_model_bundle(bin, {.tokenizer_path = tok, .require_tokenizer = true});
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  const std::string out = testing::scratch_dir("convert_l2c") + "/s.gguf";
  WriteOptions w;
  w.vocab = &bundle->tokenizer->vocab();
  ASSERT_TRUE(write_model(bundle->model, out, w).ok());
  auto converted = load_model_bundle(out);
  ASSERT_TRUE(converted.ok()) << converted.error().message();
  expect_same_tensors(bundle->model, converted->model);
  // The published GGUF of the same weights agrees too.
  auto published = LlamaModel::load(gguf_ref);
  ASSERT_TRUE(published.ok());
  expect_same_tensors(converted->model, *published, Match::kSubset);
  EXPECT_TRUE(converted->model.config().tied_output);
  const std::string text = "Once upon a time, Lily met a big dog.";
  EXPECT_EQ(converted->tokenizer->encode(text), bundle->tokenizer->encode(text));
}

// llama.cpp names a file's type from `general.file_type` and says "guessed" without it; our
// files carry it, with the numbers of llama.cpp's enum, and the quantization version.
TEST(ConvertRoundTrip, GgufCarriesLlamaCppFileType) {
  LIMARP_ASSET(ollama, "llama-2-tiny-random/llama-2-tiny-random.gguf");
  const std::string dir = testing::scratch_dir("convert_ftype");
  auto meta = [](const std::string& path) { return read_gguf(path).value().metadata; };
  // A file from a real producer (F16, file_type 1) keeps the same key, type and value.
  auto f16 = LlamaModel::load(ollama);
  ASSERT_TRUE(f16.ok()) << f16.error().message();
  ASSERT_TRUE(write_model(*f16, dir + "/f16.gguf", {}).ok());
  const Metadata published = meta(ollama), ours = meta(dir + "/f16.gguf");
  ASSERT_NE(published.find("general.file_type"), nullptr);
  ASSERT_NE(ours.find("general.file_type"), nullptr);
  EXPECT_EQ(*ours.find("general.file_type"), *published.find("general.file_type"));
  ASSERT_NE(ours.find("general.quantization_version"), nullptr);
  EXPECT_EQ(*ours.find("general.quantization_version"), MetaValue::u32(2));

  // llama.cpp's numbers (include/llama.h, enum llama_ftype) for each recipe we write.
  const LlamaConfig shape = named_shape("small").value();
  const std::pair<const char*, uint32_t> expected[] = {{"f32", 0},  {"f16", 1},  {"q4_0", 2},    {"q8_0", 7},
                                                       {"q4_k", 14}, {"q6_k", 18}, {"q4_k_m", 15}, {"bf16", 32}};
  for (const auto& [recipe, ftype] : expected) {
    const std::string path = dir + "/" + recipe + ".gguf";
    const QuantRecipe r = QuantRecipe::parse(recipe).value();
    WriteOptions w;
    w.recipe = r;
    ASSERT_TRUE(write_model_tensors(shape, random_llama_tensors(shape, r, 5), path, w).ok()) << recipe;
    const Metadata m = meta(path);
    ASSERT_NE(m.find("general.file_type"), nullptr) << recipe;
    EXPECT_EQ(*m.find("general.file_type"), MetaValue::u32(ftype)) << recipe;
    // Re-writing with the stored types names the same type.
    auto loaded = LlamaModel::load(path);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message();
    ASSERT_TRUE(write_model(*loaded, dir + "/again.gguf", {}).ok());
    EXPECT_EQ(*meta(dir + "/again.gguf").find("general.file_type"), MetaValue::u32(ftype)) << recipe;
  }
  // NF4 has no number in llama.cpp: no key rather than a wrong one.
  WriteOptions w;
  w.recipe = QuantRecipe::parse("nf4").value();
  ASSERT_TRUE(write_model_tensors(shape, random_llama_tensors(shape, *w.recipe, 5), dir + "/nf4.gguf", w).ok());
  EXPECT_EQ(meta(dir + "/nf4.gguf").find("general.file_type"), nullptr);
}

// Block layouts other than ggml's version 2 are refused by name, not misread.
TEST(ConvertRoundTrip, OtherQuantizationVersionIsRefused) {
  const LlamaConfig shape = named_shape("tiny").value();
  const std::string path = testing::scratch_dir("convert_qv") + "/v1.gguf";
  Metadata m;
  m.set("general.architecture", MetaValue::str("llama"));
  m.set("general.quantization_version", MetaValue::u32(1));
  shape.to_metadata(m);
  ASSERT_TRUE(write_gguf(path, m, random_llama_tensors(shape, QuantRecipe::parse("f32").value(), 5)).ok());
  auto loaded = LlamaModel::load(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message().find("quantization_version 1"), std::string::npos) << loaded.error().message();
}

}  // namespace
}  // namespace limarp
