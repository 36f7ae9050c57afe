// Truncated, mutated and malformed tokenizer files of every kind must give an error that says
// what is wrong, never a crash; and whatever a hostile vocabulary or text does, encoding and
// decoding stay in bounds. scripts/test.sh runs these (names with truncat/mutat/malformed/
// hostile/fuzz) under AddressSanitizer and UndefinedBehaviorSanitizer.
#include <gtest/gtest.h>

#include "base/rng.h"
#include "formats/gguf.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_loaders.h"

namespace limarp {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A vocabulary that parsed must also build a tokenizer or fail cleanly, and the tokenizer
// must encode and decode anything.
void exercise(Result<Vocab> vocab) {
  if (!vocab.ok()) {
    EXPECT_FALSE(vocab.error().message().empty());
    return;
  }
  auto tok = Tokenizer::from_vocab(std::move(vocab).value(), "exercise");
  if (!tok.ok()) return;
  for (const char* text : {"Hello world", "  <s>\xFF\xE2\x96", "\xF0\x9F\xA6\x99 a\tb\n"}) {
    const auto ids = tok->encode(text, {.parse_special = true});
    for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < tok->n_vocab());
    (void)tok->decode(ids);
  }
  const std::vector<int32_t> odd_ids = {-5, 0, 1, 2, 3, tok->n_vocab() - 1, tok->n_vocab(), 1 << 30};
  (void)tok->decode(odd_ids);
}

TEST(TokenizerFiles, truncated_sentencepiece_model_fails_cleanly) {
  LIMARP_ASSET(model, "stories260K/tok512.model");
  const std::string bytes = testing::read_file(model);
  size_t errors = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto v = parse_sentencepiece_vocab(bytes_of(bytes.substr(0, n)), "cut.model");
    if (!v.ok()) {
      ++errors;
      EXPECT_NE(v.error().message().find("cut.model"), std::string::npos);
    } else if (n % 64 == 0) {
      exercise(std::move(v));
    }
  }
  // Nearly every cut loses the trainer spec or the normalizer, or ends inside a field.
  EXPECT_GT(errors, bytes.size() * 9 / 10);
}

TEST(TokenizerFiles, mutated_sentencepiece_model_never_crashes) {
  LIMARP_ASSET(model, "stories260K/tok512.model");
  const std::string original = testing::read_file(model);
  Rng rng(77);
  for (int k = 0; k < 1500; ++k) {
    std::string bytes = original;
    const int flips = 1 + static_cast<int>(rng.next_u64() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng.next_u64() % bytes.size()] = static_cast<char>(rng.next_u64());
    exercise(parse_sentencepiece_vocab(bytes_of(bytes), "mutated.model"));
  }
}

TEST(TokenizerFiles, truncated_llama2c_tokenizer_fails_cleanly) {
  LIMARP_ASSET(bin, "stories260K/tok512.bin");
  const std::string bytes = testing::read_file(bin);
  const std::string dir = testing::scratch_dir("truncated_llama2c");
  for (size_t n : {size_t{0}, size_t{3}, size_t{4}, size_t{9}, size_t{100}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string path = dir + "/tok.bin";
    testing::write_file(path, bytes.substr(0, n));
    auto v = load_llama2c_vocab(path, 512);
    ASSERT_FALSE(v.ok()) << n;
    EXPECT_NE(v.error().message().find("tok.bin"), std::string::npos) << v.error().message();
    exercise(load_vocab(path));  // without a size: whatever it reads must be usable or an error
  }
}

TEST(TokenizerFiles, truncated_and_mutated_vocab_gguf_fail_cleanly) {
  LIMARP_ASSET(gguf, "llama-vocab/ggml-vocab-llama-spm.gguf");
  const std::string bytes = testing::read_file(gguf);
  auto parse = [](const std::string& b) -> Result<Vocab> {
    auto store = parse_gguf(bytes_of(b), "vocab.gguf");
    if (!store.ok()) return store.error();
    return Vocab::from_gguf_metadata(store->metadata, "vocab.gguf");
  };
  Rng rng(5);
  for (int k = 0; k < 300; ++k) {
    const size_t n = k < 100 ? static_cast<size_t>(k) * 7 : rng.next_u64() % bytes.size();
    auto v = parse(bytes.substr(0, n));
    EXPECT_FALSE(v.ok()) << "a GGUF cut at " << n << " bytes parsed";
  }
  for (int k = 0; k < 300; ++k) {
    std::string b = bytes;
    // Mutate the header and the metadata (counts, lengths, types, token types).
    for (int f = 0; f < 3; ++f) b[rng.next_u64() % (k % 2 ? 4096 : b.size())] = static_cast<char>(rng.next_u64());
    exercise(parse(b));
  }
}

TEST(TokenizerFiles, malformed_tokenizer_json_gives_clear_errors) {
  const std::string vocab = R"("vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3})";
  const std::string escape =
      R"("normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"})";
  struct Case {
    std::string json;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"", "invalid JSON"},
      {"{", "invalid JSON"},
      {"[1, 2]", "top level"},
      {"{}", "model"},
      {R"({"model": {"type": "Unigram", "vocab": []}})", "only BPE"},
      {R"({"model": {"type": "BPE", "vocab": [], "merges": []}})", "model.vocab"},
      {R"({"model": {"type": "BPE", )" + vocab + R"(}})", "model.merges"},
      {R"({"model": {"type": "BPE", )" + vocab + R"(, "merges": ["a b c"]}, )" + escape + "}", "merges[0]"},
      {R"({"model": {"type": "BPE", )" + vocab + R"(, "merges": ["a x"]}, )" + escape + "}", "\"x\""},
      {R"({"model": {"type": "BPE", )" + vocab + R"(, "merges": ["b a"]}, )" + escape + "}", "\"ba\""},
      {R"({"model": {"type": "BPE", )" + vocab + R"(, "merges": [7]}, )" + escape + "}", "merges[0]"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 5}, "merges": []}, )" + escape + "}", "id 5"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}, )" + escape + "}", "id 0"},
      {R"({"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}, )" + escape + "}", "-1"},
      {R"({"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}, )" + escape + "}", "integer"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 99999999999}, "merges": []}, )" + escape + "}", "99999999999"},
      {R"({"model": {"type": "BPE", )" + vocab + R"(, "merges": []}})", "not written as"},
      {R"({"model": {"type": "BPE", )" + vocab + R"(, "merges": []}, "normalizer": {"type": "NFKC"}})", "NFKC"},
      {R"({"model": {"type": "BPE", )" + vocab +
           R"(, "merges": []}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}})",
       "ByteLevel"},
      {R"({"model": {"type": "BPE", )" + vocab +
           R"(, "merges": []}, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}})",
       "split"},
      {R"({"model": {"type": "BPE", )" + vocab + R"(, "merges": [], "continuing_subword_prefix": "##"}, )" + escape + "}",
       "continuing_subword_prefix"},
      {R"({"model": {"type": "BPE", )" + vocab + R"(, "merges": [], "dropout": 0.1}, )" + escape + "}", "dropout"},
      {R"({"model": {"type": "BPE", )" + vocab + R"(, "merges": [], "unk_token": "<nope>"}, )" + escape + "}", "<nope>"},
      {R"({"added_tokens": [{"id": 1, "content": "zz"}], "model": {"type": "BPE", )" + vocab + R"(, "merges": []}, )" +
           escape + "}",
       "id 1"},
      {R"({"added_tokens": {"id": 1}, "model": {"type": "BPE", )" + vocab + R"(, "merges": []}, )" + escape + "}",
       "added_tokens"},
  };
  for (const Case& c : cases) {
    auto v = parse_hf_tokenizer_json(c.json, "bad.json");
    ASSERT_FALSE(v.ok()) << c.json;
    EXPECT_NE(v.error().message().find(c.expect), std::string::npos)
        << "error for " << c.json << "\n  is: " << v.error().message() << "\n  expected it to mention " << c.expect;
    EXPECT_NE(v.error().message().find("bad.json"), std::string::npos) << v.error().message();
  }
  // Every cut of a valid file is an error, never a crash.
  const std::string good = R"({"model": {"type": "BPE", )" + vocab + R"(, "merges": ["a b"]}, )" + escape + "}";
  ASSERT_TRUE(parse_hf_tokenizer_json(good, "good.json").ok());
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(parse_hf_tokenizer_json(good.substr(0, n), "cut.json").ok());
}

TEST(TokenizerFiles, malformed_files_are_not_mistaken_for_tokenizers) {
  const std::string dir = testing::scratch_dir("malformed_files");
  const std::vector<std::pair<std::string, std::string>> files = {
      {"empty", ""}, {"gguf", "GGUF\x03\x00\x00\x00garbage"}, {"random", "\x7F\x45\x4C\x46\x02\x01\x01\x00\x00"},
      {"json_array", "[]"}, {"config", R"({"add_bos_token": true})"}};
  for (const auto& [name, content] : files) {
    testing::write_file(dir + "/" + name, content);
    auto tok = Tokenizer::load(dir + "/" + name);
    ASSERT_FALSE(tok.ok()) << name;
    EXPECT_NE(tok.error().message().find(name), std::string::npos) << tok.error().message();
  }
  auto missing = Tokenizer::load(dir);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("no tokenizer.model or tokenizer.json"), std::string::npos);
}

TEST(TokenizerFiles, hostile_vocabularies_are_refused) {
  auto base = [] {
    Vocab v;
    for (const char* p : {"<unk>", "<s>", "</s>", "a", "b"}) {
      v.pieces.push_back(p);
      v.scores.push_back(0);
      v.types.push_back(TokenType::kNormal);
    }
    v.types[0] = TokenType::kUnknown;
    v.types[1] = v.types[2] = TokenType::kControl;
    return v;
  };
  ASSERT_TRUE(Tokenizer::from_vocab(base(), "ok").ok());
  Vocab bad_byte = base();
  bad_byte.types[3] = TokenType::kByte;
  EXPECT_FALSE(Tokenizer::from_vocab(bad_byte, "v").ok());
  Vocab bad_bos = base();
  bad_bos.bos_id = 5;
  EXPECT_FALSE(Tokenizer::from_vocab(bad_bos, "v").ok());
  Vocab short_scores = base();
  short_scores.scores.pop_back();
  EXPECT_FALSE(Tokenizer::from_vocab(short_scores, "v").ok());
  Vocab bad_type = base();
  bad_type.types[4] = static_cast<TokenType>(9);
  EXPECT_FALSE(Tokenizer::from_vocab(bad_type, "v").ok());
  Vocab huge = base();
  huge.pieces[4] = std::string(70000, 'x');
  EXPECT_FALSE(Tokenizer::from_vocab(huge, "v").ok());
  EXPECT_FALSE(Tokenizer::from_vocab(Vocab{}, "v").ok());
  // Odd but legal: empty pieces, duplicates, no <unk> — usable, never out of bounds.
  Vocab odd = base();
  odd.pieces[3] = "";
  odd.pieces[4] = "<s>";
  odd.unk_id = -1;
  exercise(Result<Vocab>(odd));
}

// Random bytes (mostly invalid UTF-8) through Llama's tokenizer: ids in range, the decode
// of the encode is the input with invalid bytes as U+FFFD, streaming equals whole decode.
TEST(TokenizerFiles, fuzz_encode_and_decode_random_bytes) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  auto tok = Tokenizer::load(model);
  ASSERT_TRUE(tok.ok());
  Rng rng(99);
  for (int k = 0; k < 400; ++k) {
    std::string s(rng.next_u64() % 64, '\0');
    const char* likely = "ab <>/s\xE2\x96\x81";  // text near control tokens and "▁"
    for (char& c : s) c = static_cast<char>(rng.next_u64() % 3 ? rng.next_u64() : likely[rng.next_u64() % 10]);
    const auto ids = tok->encode(s, {.parse_special = k % 2 == 0});
    for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok->n_vocab());
    StreamDecoder d(*tok);
    std::string streamed;
    for (int32_t id : ids) streamed += d.push(id);
    streamed += d.flush();
    EXPECT_EQ(streamed, tok->decode(ids));
    std::vector<int32_t> random_ids(rng.next_u64() % 16);
    for (int32_t& id : random_ids) id = static_cast<int32_t>(rng.next_u64() % 33000) - 500;
    (void)tok->decode(random_ids);
  }
}

}  // namespace
}  // namespace limarp
