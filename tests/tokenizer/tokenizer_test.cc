// The tokenizer's behaviour on fixed cases: llama.cpp's 47 Llama-SPM test vectors, the
// leading-space rules, control-token look-alikes and parse_special, round trips and the
// streaming decoder, and the linear cost of encoding a megabyte without spaces.
#include <gtest/gtest.h>

#include <sstream>

#include "must_load.h"
#include "support/test_support.h"
#include "tokenizer/default_vocab.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer_corpus.h"

namespace limarp {
namespace {

using testing::must_load;

struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

// ggml-vocab-llama-spm.gguf.inp holds the inputs, each followed by a line
// "__ggml_vocab_test__"; .out holds one line of expected ids (no BOS) per input.
std::vector<VocabCase> read_vocab_cases(const std::string& inp, const std::string& out) {
  const std::string text = testing::read_file(inp);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<VocabCase> cases;
  for (size_t pos = 0; pos <= text.size();) {
    const size_t next = text.find(sep, pos);
    const size_t end = next == std::string::npos ? text.size() : next;
    cases.push_back({text.substr(pos, end - pos), {}});
    if (next == std::string::npos) break;
    pos = next + sep.size();
  }
  std::istringstream lines(testing::read_file(out) + "\n");
  std::string line;
  for (VocabCase& c : cases) {
    if (!std::getline(lines, line)) break;
    std::istringstream nums(line);
    for (int32_t id; nums >> id;) c.ids.push_back(id);
  }
  return cases;
}

class LlamaVocabCases : public ::testing::TestWithParam<const char*> {};

TEST_P(LlamaVocabCases, all_47_cases_match) {
  LIMARP_ASSET(inp, "llama-vocab/ggml-vocab-llama-spm.gguf.inp");
  LIMARP_ASSET(out, "llama-vocab/ggml-vocab-llama-spm.gguf.out");
  auto path = testing::asset_path(GetParam());
  ASSERT_TRUE(path);
  const Tokenizer tok = must_load(*path);
  const auto cases = read_vocab_cases(inp, out);
  ASSERT_EQ(cases.size(), 47u);
  for (const VocabCase& c : cases)
    EXPECT_EQ(tok.encode(c.text, {.add_bos = false}), c.ids) << "\"" << c.text << "\"";
}

INSTANTIATE_TEST_SUITE_P(Files, LlamaVocabCases,
                         ::testing::Values("llama-vocab/ggml-vocab-llama-spm.gguf", "llama2-tokenizer/tokenizer.model"));

TEST(Tokenizer, llama2_basics) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  const Tokenizer tok = must_load(model);
  EXPECT_EQ(tok.encode("Hello world"), (std::vector<int32_t>{1, 15043, 3186}));
  EXPECT_EQ(tok.encode("Hello world", {.add_bos = false, .add_eos = true}), (std::vector<int32_t>{15043, 3186, 2}));
  EXPECT_EQ(tok.encode(""), (std::vector<int32_t>{1}));
  EXPECT_EQ(tok.encode("", {.add_bos = false}), (std::vector<int32_t>{}));
  // A leading space survives as the lone "▁" (29871) and decodes back.
  EXPECT_EQ(tok.encode(" Hello", {.add_bos = false}), (std::vector<int32_t>{29871, 15043}));
  EXPECT_EQ(tok.decode(std::vector<int32_t>{1, 29871, 15043}), " Hello");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{1, 15043, 3186, 2}), "Hello world");
  // Only the first piece loses its "▁", and only while nothing was output.
  EXPECT_EQ(tok.decode(std::vector<int32_t>{29871, 29871, 3186}), "  world");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{3186, 3186}), "world world");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{0}), " \xE2\x81\x87 ");
  // Invalid UTF-8 is encoded as U+FFFD (SentencePiece's normalizer), so it decodes as U+FFFD.
  EXPECT_EQ(tok.decode(tok.encode("a\xFF" "b")), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(tok.encode("a\xFF" "b"), tok.encode("a\xEF\xBF\xBD" "b"));
  EXPECT_EQ(tok.token_bytes(13), "\n");
  EXPECT_EQ(tok.token_bytes(1), "");
  EXPECT_EQ(tok.token_bytes(15043), " Hello");
  EXPECT_EQ(tok.find_piece("\xE2\x96\x81Hello"), 15043);
  EXPECT_EQ(tok.find_piece("</s>"), 2);
  EXPECT_FALSE(tok.find_piece("no such piece").has_value());
  EXPECT_TRUE(tok.is_control(1));
  EXPECT_FALSE(tok.is_control(0));
}

TEST(Tokenizer, control_token_text_is_plain_text_unless_parse_special) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  const Tokenizer tok = must_load(model);
  for (const char* text : {"</s>", "<s>", "<unk>", "[INST] hi [/INST]", "a</s>b<s>", "<<SYS>>"}) {
    const auto ids = tok.encode(text, {.add_bos = false});
    for (int32_t id : ids) EXPECT_FALSE(tok.is_control(id) || id == 0) << text;
    EXPECT_EQ(tok.decode(ids), text);
  }
  // With parse_special, control text becomes the token and each stretch of text between
  // tokens is encoded on its own, as encoding it alone would give (its own dummy prefix).
  EXPECT_EQ(tok.encode("<s>Hello</s>", {.add_bos = false, .parse_special = true}),
            (std::vector<int32_t>{1, 15043, 2}));
  const auto pieces = tok.encode("Hi</s><s>[INST] ok", {.add_bos = true, .parse_special = true});
  std::vector<int32_t> want = {1};
  for (int32_t id : tok.encode("Hi", {.add_bos = false})) want.push_back(id);
  want.push_back(2);
  want.push_back(1);
  for (int32_t id : tok.encode("[INST] ok", {.add_bos = false})) want.push_back(id);
  EXPECT_EQ(pieces, want);
  EXPECT_EQ(tok.encode("<unk>x", {.add_bos = false, .parse_special = true}).front(), 0);
  // Text with no control-token text is unaffected by parse_special.
  const std::string limarp = "### Instruction:\nUser: hi\n\n### Response: (length = medium)\nCharacter:";
  EXPECT_EQ(tok.encode(limarp), tok.encode(limarp, {.parse_special = true}));
}

TEST(Tokenizer, round_trip_and_streaming_equal_whole_decode) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  const Tokenizer tok = must_load(model);
  const auto corpus = testing::generate_corpus(3000, 7, tok.vocab().pieces);
  size_t round_trip_failures = 0, stream_failures = 0, checked = 0;
  for (const testing::CorpusString& c : corpus) {
    const auto ids = tok.encode(c.text);
    const std::string whole = tok.decode(ids);
    if (c.round_trips()) {
      ++checked;
      if (whole != c.text && ++round_trip_failures <= 3) ADD_FAILURE() << "round trip: \"" << c.text << "\"";
    }
    StreamDecoder stream(tok);
    std::string streamed;
    for (int32_t id : ids) {
      const std::string piece = stream.push(id);
      // Never half a character: every piece is valid UTF-8 on its own.
      EXPECT_EQ(sanitize_utf8(piece), piece);
      streamed += piece;
    }
    streamed += stream.flush();
    stream_failures += streamed != whole;
  }
  EXPECT_GT(checked, 2000u);
  EXPECT_EQ(round_trip_failures, 0u);
  EXPECT_EQ(stream_failures, 0u);
}

TEST(StreamDecoder, holds_partial_characters_and_joins_bytes_across_steps) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  const Tokenizer tok = must_load(model);
  StreamDecoder d(tok);
  EXPECT_EQ(d.push(1), "");
  // 🦙 = F0 9F A6 99 as four byte tokens: nothing until the last one.
  EXPECT_EQ(d.push(0xF0 + 3), "");
  EXPECT_EQ(d.push(0x9F + 3), "");
  EXPECT_EQ(d.push(0xA6 + 3), "");
  EXPECT_EQ(d.push(0x99 + 3), "\xF0\x9F\xA6\x99");
  // An unfinished character followed by text becomes U+FFFD, as in decode().
  EXPECT_EQ(d.push(0xE2 + 3), "");
  EXPECT_EQ(d.push(3186), "\xEF\xBF\xBD world");
  // A byte that can never start a character is emitted at once.
  EXPECT_EQ(d.push(0xFF + 3), "\xEF\xBF\xBD");
  EXPECT_EQ(d.push(0xC3 + 3), "");
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");
  // After reset(at_start), the next leading "▁" is dropped again.
  d.reset(true);
  EXPECT_EQ(d.push(15043), "Hello");
  d.reset(false);
  EXPECT_EQ(d.push(15043), " Hello");
}

TEST(Utf8, sentencepiece_validity_rules) {
  EXPECT_EQ(utf8_valid_char_len("a", 0), 1u);
  EXPECT_EQ(utf8_valid_char_len("\xC3\xA9", 0), 2u);
  EXPECT_EQ(utf8_valid_char_len("\xC0\xAF", 0), 0u);          // overlong
  EXPECT_EQ(utf8_valid_char_len("\xED\xA0\x80", 0), 0u);      // surrogate
  EXPECT_EQ(utf8_valid_char_len("\xF4\x90\x80\x80", 0), 0u);  // beyond U+10FFFF
  EXPECT_EQ(utf8_valid_char_len("\xEF\xBF\xBD", 0), 3u);
  EXPECT_TRUE(utf8_could_complete("\xF0\x9F"));
  EXPECT_FALSE(utf8_could_complete("\xF0\x8F"));
  EXPECT_FALSE(utf8_could_complete("\xE2\x28"));
  EXPECT_EQ(sanitize_utf8("a\xE2\x96" "b"), "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  EXPECT_EQ(complete_utf8_prefix("ab\xE2\x96"), 2u);
  EXPECT_EQ(complete_utf8_prefix("ab\xFF"), 3u);
}

TEST(Tokenizer, default_byte_vocab_encodes_anything) {
  auto tok = Tokenizer::from_vocab(default_byte_vocab(600), "default");
  ASSERT_TRUE(tok.ok()) << tok.error().message();
  // Its "<extra_N>" fillers are UNUSED pieces no merge can make: the fast path stays on.
  EXPECT_TRUE(tok->encoder().word_parallel());
  for (const char* text : {"Hello world", "  two  spaces ", "\xF0\x9F\xA6\x99 llama", "tab\tnew\nline", ""}) {
    const auto ids = tok->encode(text);
    EXPECT_EQ(tok->decode(ids), text);
  }
}

// A vocabulary survives GGUF metadata (what `limarp convert` writes) with its switches.
TEST(Tokenizer, vocab_round_trips_through_gguf_metadata) {
  LIMARP_ASSET(model, "stories260K/tok512.model");
  const Tokenizer tok = must_load(model);
  Metadata m;
  tok.vocab().to_gguf_metadata(m);
  auto v = Vocab::from_gguf_metadata(m, "metadata");
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->pieces, tok.vocab().pieces);
  EXPECT_EQ(v->types, tok.vocab().types);
  EXPECT_EQ(v->scores, tok.vocab().scores);
  EXPECT_TRUE(v->remove_extra_whitespaces);
  auto again = Tokenizer::from_vocab(std::move(v).value(), "metadata");
  ASSERT_TRUE(again.ok());
  for (const char* text : {"Once upon  a time ", " there was a cat"})
    EXPECT_EQ(again->encode(text), tok.encode(text)) << text;
}

// Encoding cost is linear in the input: a megabyte without spaces (one huge "word") makes
// four times the work of 256 KiB, not sixteen. Counted, not timed, so it cannot flake.
TEST(Tokenizer, encoding_a_megabyte_without_spaces_is_linear) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  const Tokenizer tok = must_load(model);
  auto make = [](size_t n) {
    std::string s;
    s.reserve(n);
    Rng rng(9);
    while (s.size() < n) s += static_cast<char>('a' + rng.next_u64() % 26);
    return s;
  };
  for (const std::string& pattern : {std::string(), std::string("aaaa"), std::string("\xE4\xBD\xA0")}) {
    auto text = [&](size_t n) {
      if (pattern.empty()) return make(n);
      std::string s;
      while (s.size() < n) s += pattern;
      return s;
    };
    EncodeStats small, large;
    std::vector<int32_t> ids_small, ids_large;
    tok.encoder().encode(text(256 << 10), BpeEncoder::Prefix::kDummy, ids_small, &small);
    tok.encoder().encode(text(1 << 20), BpeEncoder::Prefix::kDummy, ids_large, &large);
    const double ratio = static_cast<double>(large.pair_lookups) / static_cast<double>(small.pair_lookups);
    EXPECT_GT(ratio, 3.5) << pattern;
    EXPECT_LT(ratio, 4.5) << pattern;
    EXPECT_LT(large.pair_lookups, uint64_t{8} << 20) << pattern;
    EXPECT_EQ(tok.decode(ids_large), text(1 << 20)) << pattern;
  }
  // Ordinary text goes word by word, and repeated words come from the per-call cache.
  EncodeStats stats;
  std::vector<int32_t> ids;
  tok.encoder().encode("the cat and the dog and the bird", BpeEncoder::Prefix::kDummy, ids, &stats);
  EXPECT_EQ(stats.cached_words, 3u);
  EXPECT_EQ(ids, tok.encode("the cat and the dog and the bird", {.add_bos = false}));
}

}  // namespace
}  // namespace limarp
