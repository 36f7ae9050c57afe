// Hugging Face tokenizer.json (+ tokenizer_config.json): a Llama-2-style file written from the
// real tokenizer.model at test time (tests/tokenizer/make_hf_tokenizer_json.py) must encode
// exactly as libsentencepiece does; a small hand-written file checks the schema variants
// (merges as strings or pairs, normalizer or Metaspace) and the config switches.
#include <gtest/gtest.h>

#include <filesystem>

#include "sentencepiece_oracle.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_loaders.h"
#include "tokenizer_corpus.h"

namespace limarp {
namespace {

namespace fs = std::filesystem;

// Runs the generator script; false (and the test skipped) when python3-sentencepiece is absent.
bool make_tokenizer_json(const std::string& model, const std::string& dir, const std::string& flags) {
  const std::string script = testing::source_dir() + "/tests/tokenizer/make_hf_tokenizer_json.py";
  const std::string cmd = testing::python() + " " + script + " " + model + " " + dir + " " + flags;
  const auto r = testing::run_command(cmd);
  if (r.status == 77 && !testing::in_ci()) return false;
  EXPECT_EQ(r.status, 0) << cmd;
  return r.status == 0;
}

class HfTokenizerJson : public ::testing::TestWithParam<const char*> {};

TEST_P(HfTokenizerJson, llama2_tokenizer_json_matches_libsentencepiece) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  const std::string dir = testing::scratch_dir(std::string("hf_json") + (GetParam()[0] ? GetParam() + 2 : ""));
  if (!make_tokenizer_json(model, dir, GetParam())) GTEST_SKIP() << "python3-sentencepiece not installed";
  auto sp = testing::SentencePieceOracle::from_file(model);
  ASSERT_TRUE(sp);
  // The folder (no tokenizer.model in it) and the file itself both load.
  auto from_dir = Tokenizer::load(dir);
  ASSERT_TRUE(from_dir.ok()) << from_dir.error().message();
  auto from_file = Tokenizer::load(dir + "/tokenizer.json");
  ASSERT_TRUE(from_file.ok()) << from_file.error().message();
  const Tokenizer& tok = *from_dir;
  ASSERT_EQ(tok.n_vocab(), 32000);
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_TRUE(tok.vocab().add_bos);
  EXPECT_EQ(tok.vocab().add_eos, std::string(GetParam()) == "--add-eos");
  EXPECT_TRUE(tok.vocab().add_space_prefix);
  EXPECT_TRUE(tok.is_control(1));
  EXPECT_EQ(tok.vocab().types[0], TokenType::kUnknown);
  EXPECT_EQ(tok.vocab().types[3], TokenType::kByte);
  const auto corpus = testing::generate_corpus(4000, 31, tok.vocab().pieces);
  testing::expect_same_encoding(tok, *sp, corpus, std::string("tokenizer.json ") + GetParam());
  size_t decode_differs = 0;
  for (size_t i = 0; i < 500; ++i) {
    const auto ids = sp->encode(corpus[i].text);
    decode_differs += tok.decode(ids) != sp->decode(ids);
  }
  EXPECT_EQ(decode_differs, 0u);
}

INSTANTIATE_TEST_SUITE_P(Variants, HfTokenizerJson, ::testing::Values("", "--merge-pairs", "--metaspace", "--add-eos"));

// A tiny vocabulary written by hand in HF's schema.
std::string small_tokenizer_json(const std::string& merges, const std::string& normalizer,
                                 const std::string& pre_tokenizer) {
  return R"({
  "version": "1.0",
  "added_tokens": [
    {"id": 0, "content": "<unk>", "special": true},
    {"id": 1, "content": "<s>", "special": true},
    {"id": 2, "content": "</s>", "special": true},
    {"id": 11, "content": "[INST]", "special": false}
  ],
  "normalizer": )" + normalizer + R"(,
  "pre_tokenizer": )" + pre_tokenizer + R"(,
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]},
  "decoder": null,
  "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
    "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": false,
    "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "▁": 3, "a": 4, "b": 5, "c": 6, "▁a": 7, "ab": 8, "▁ab": 9, "bc": 10},
    "merges": )" + merges + R"(}
})";
}

const char* kLlamaNormalizer =
    R"({"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]})";
const char* kMetaspace = R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false})";

Tokenizer parse_small(const std::string& json) {
  auto v = parse_hf_tokenizer_json(json, "small tokenizer.json");
  if (!v.ok()) {
    ADD_FAILURE() << v.error().message();
    std::abort();
  }
  auto tok = Tokenizer::from_vocab(std::move(v).value(), "small");
  if (!tok.ok()) std::abort();
  return std::move(tok).value();
}

TEST(HfTokenizerJsonSmall, schema_variants_encode_alike) {
  const std::string as_strings = R"(["▁ a", "a b", "▁a b", "b c"])";
  const std::string as_pairs = R"([["▁", "a"], ["a", "b"], ["▁a", "b"], ["b", "c"]])";
  for (const Tokenizer& tok : {parse_small(small_tokenizer_json(as_strings, kLlamaNormalizer, "null")),
                               parse_small(small_tokenizer_json(as_pairs, kLlamaNormalizer, "null")),
                               parse_small(small_tokenizer_json(as_pairs, "null", kMetaspace))}) {
    // "▁abc": ▁a (rank 0) first, then ▁a+b (rank 2) beats b+c (rank 3).
    EXPECT_EQ(tok.encode("abc"), (std::vector<int32_t>{1, 9, 6}));
    // Without byte fallback, a run of unknown characters is one <unk>.
    EXPECT_EQ(tok.encode("a xyz", {.add_bos = false}), (std::vector<int32_t>{7, 3, 0}));
    EXPECT_EQ(tok.encode("bc", {.add_bos = false}), (std::vector<int32_t>{3, 10}));
    EXPECT_TRUE(tok.vocab().add_bos);
    EXPECT_EQ(tok.vocab().types[11], TokenType::kUserDefined);
    EXPECT_EQ(tok.decode(tok.encode("ab bc")), "ab bc");
  }
}

TEST(HfTokenizerJsonSmall, tokenizer_config_sets_bos_eos_and_flags) {
  const std::string dir = testing::scratch_dir("hf_small_config");
  testing::write_file(dir + "/tokenizer.json", small_tokenizer_json(R"(["▁ a"])", kLlamaNormalizer, "null"));
  testing::write_file(dir + "/tokenizer_config.json",
                      R"({"add_bos_token": false, "add_eos_token": true, "eos_token": {"content": "</s>"}})");
  auto tok = Tokenizer::load(dir);
  ASSERT_TRUE(tok.ok()) << tok.error().message();
  EXPECT_FALSE(tok->vocab().add_bos);
  EXPECT_TRUE(tok->vocab().add_eos);
  EXPECT_EQ(tok->eos(), 2);
  testing::write_file(dir + "/tokenizer_config.json", R"({"bos_token": "<nope>"})");
  auto bad = Tokenizer::load(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("<nope>"), std::string::npos) << bad.error().message();
}

}  // namespace
}  // namespace limarp
