// Which files a pull fetches, from repository listings shaped like real ones (TheBloke's GGUF
// repositories, meta-llama's Transformers repositories, PEFT adapters).
#include <gtest/gtest.h>

#include "hub/file_selection.h"

namespace limarp::hub {
namespace {

using Files = std::vector<std::string>;

Selection pick(const Files& files, const std::string& name, const Files& includes = {}) {
  auto n = parse_hub_name(name);
  EXPECT_TRUE(n.ok());
  auto s = select_files(files, *n, includes);
  EXPECT_TRUE(s.ok()) << s.error().message();
  return s.ok() ? *s : Selection{};
}

std::string failure(const Files& files, const std::string& name) {
  auto n = parse_hub_name(name);
  EXPECT_TRUE(n.ok());
  auto s = select_files(files, n.value(), {});
  return s.ok() ? "" : s.error().message();
}

const Files kGguf = {".gitattributes", "README.md", "llama-2-7b.Q4_K_M.gguf", "llama-2-7b.Q4_K_S.gguf",
                     "llama-2-7b.Q8_0.gguf", "llama-2-7b.f16.gguf", "mmproj-model-f16.gguf"};

TEST(QuantTag, FromFileNames) {
  EXPECT_EQ(quant_tag_of("llama-2-7b.Q4_K_M.gguf"), "Q4_K_M");
  EXPECT_EQ(quant_tag_of("Llama-2-7b-q8_0.gguf"), "Q8_0");
  EXPECT_EQ(quant_tag_of("model-IQ2_XS-00002-of-00003.gguf"), "IQ2_XS");
  EXPECT_EQ(quant_tag_of("sub/model.bf16.gguf"), "BF16");
  EXPECT_EQ(quant_tag_of("stories260K.gguf"), "");
}

TEST(FileSelection, GgufByTagNotItsPrefix) {
  EXPECT_EQ(failure(kGguf, "org/repo:Q4_K"), std::string("org/repo has no GGUF file with quantization Q4_K "
                                                          "(quantizations: F16, Q4_K_M, Q4_K_S, Q8_0)"));
  EXPECT_EQ(pick(kGguf, "org/repo:q4_k_s").files, Files{"llama-2-7b.Q4_K_S.gguf"});
}

TEST(FileSelection, GgufWithoutTagPrefersQ4KM) {
  const Selection s = pick(kGguf, "org/repo");
  EXPECT_EQ(s.files, Files{"llama-2-7b.Q4_K_M.gguf"});
  EXPECT_EQ(s.primary, "llama-2-7b.Q4_K_M.gguf");
}

TEST(FileSelection, SplitGgufTakesEveryShard) {
  const Files files = {"m-Q8_0-00002-of-00002.gguf", "m-Q8_0-00001-of-00002.gguf", "m-Q4_0.gguf"};
  const Selection s = pick(files, "org/repo:Q8_0");
  EXPECT_EQ(s.files, (Files{"m-Q8_0-00001-of-00002.gguf", "m-Q8_0-00002-of-00002.gguf"}));
  EXPECT_EQ(s.primary, "m-Q8_0-00001-of-00002.gguf");
  EXPECT_EQ(pick(files, "org/repo:m-Q8_0-00002-of-00002.gguf").files.size(), 2u);
}

TEST(FileSelection, TransformersPrefersSafetensors) {
  const Files files = {"config.json", "generation_config.json", "model-00001-of-00002.safetensors",
                       "model-00002-of-00002.safetensors", "model.safetensors.index.json",
                       "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin",
                       "pytorch_model.bin.index.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                       "special_tokens_map.json", "README.md", "LICENSE.txt", "original/consolidated.00.pth"};
  const Selection s = pick(files, "meta-llama/Llama-2-7b-hf");
  EXPECT_EQ(s.files, (Files{"config.json", "generation_config.json", "model-00001-of-00002.safetensors",
                            "model-00002-of-00002.safetensors", "model.safetensors.index.json",
                            "special_tokens_map.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json"}));
  EXPECT_TRUE(s.primary.empty());
}

TEST(FileSelection, TransformersFallsBackToBin) {
  const Files files = {"config.json", "pytorch_model.bin", "tokenizer.model", "README.md"};
  EXPECT_EQ(pick(files, "org/old").files, (Files{"config.json", "pytorch_model.bin", "tokenizer.model"}));
}

TEST(FileSelection, PeftAdapter) {
  EXPECT_EQ(pick({"adapter_config.json", "adapter_model.bin", "README.md"}, "org/lora").files,
            (Files{"adapter_config.json", "adapter_model.bin"}));
  EXPECT_EQ(pick({"adapter_config.json", "adapter_model.bin", "adapter_model.safetensors"}, "org/lora").files,
            (Files{"adapter_config.json", "adapter_model.safetensors"}));
}

TEST(FileSelection, IncludeGlobsReplaceTheChoice) {
  EXPECT_EQ(pick(kGguf, "org/repo", {"*.md", "*Q8_0*"}).files, (Files{"README.md", "llama-2-7b.Q8_0.gguf"}));
}

TEST(FileSelection, NothingUsableIsAnErrorListingFiles) {
  const std::string m = failure({"README.md", "weights.pt"}, "org/odd");
  EXPECT_NE(m.find("--include"), std::string::npos) << m;
  EXPECT_NE(m.find("weights.pt"), std::string::npos) << m;
  EXPECT_NE(failure({"config.json", "README.md"}, "org/empty").find("no weights"), std::string::npos);
}

}  // namespace
}  // namespace limarp::hub
