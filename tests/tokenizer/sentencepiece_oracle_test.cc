// Our encoder against libsentencepiece on a generated corpus: the Llama-2 tokenizer loaded
// from tokenizer.model and from the vocabulary-only GGUF, stories260K's tok512 from .model
// and .bin, and variants of real vocabularies (UNUSED and USER_DEFINED pieces, no byte
// fallback, no dummy prefix) that exercise the rarely taken branches of the algorithm. Each
// variant is written as a tokenizer.model by our writer and loaded by both sides.
#include <gtest/gtest.h>

#include "must_load.h"
#include "sentencepiece_oracle.h"
#include "support/test_support.h"
#include "tokenizer/sentencepiece_writer.h"
#include "tokenizer/vocab_loaders.h"
#include "tokenizer_corpus.h"

namespace limarp {
namespace {

using testing::CorpusString;
using testing::must_load;
using testing::SentencePieceOracle;

constexpr size_t kCorpusSize = 12000;

Tokenizer must_build(Vocab vocab) {
  auto tok = Tokenizer::from_vocab(std::move(vocab), "variant");
  if (!tok.ok()) {
    ADD_FAILURE() << tok.error().message();
    std::abort();
  }
  return std::move(tok).value();
}

TEST(SentencePieceOracle, llama2_tokenizer_model_matches_on_generated_corpus) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  auto sp = SentencePieceOracle::from_file(model);
  ASSERT_TRUE(sp);
  const Tokenizer tok = must_load(model);
  const auto corpus = testing::generate_corpus(kCorpusSize, 1, tok.vocab().pieces);
  EXPECT_GE(testing::expect_same_encoding(tok, *sp, corpus, "tokenizer.model"), 10000u);
  EXPECT_TRUE(tok.encoder().word_parallel()) << "Llama's vocabulary should allow word-by-word encoding";
}

TEST(SentencePieceOracle, llama2_vocab_only_gguf_matches_on_generated_corpus) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  LIMARP_ASSET(gguf, "llama-vocab/ggml-vocab-llama-spm.gguf");
  auto sp = SentencePieceOracle::from_file(model);
  ASSERT_TRUE(sp);
  const Tokenizer tok = must_load(gguf);
  EXPECT_EQ(tok.n_vocab(), 32000);
  const auto corpus = testing::generate_corpus(kCorpusSize, 2, tok.vocab().pieces);
  EXPECT_GE(testing::expect_same_encoding(tok, *sp, corpus, "vocab-only GGUF"), 10000u);
}

// What SentencePiece's remove_extra_whitespaces does to text, done on the raw string: no
// leading spaces, runs of spaces as one, and no trailing spaces or "▁" (it strips those
// after escaping spaces).
std::string without_extra_whitespace(std::string_view s) {
  std::string out;
  bool previous_space = true;
  for (char c : s) {
    if (c == ' ' && previous_space) continue;
    out += c;
    previous_space = c == ' ';
  }
  for (;;) {
    if (!out.empty() && out.back() == ' ') out.pop_back();
    else if (out.ends_with("\xE2\x96\x81")) out.resize(out.size() - 3);
    else break;
  }
  return out;
}

// tok512.model asks for remove_extra_whitespaces (the protobuf default, left on when
// stories260K's tokenizer was trained); llama2.c's .bin cannot say so. Same vocabulary and
// merges: identical ids whenever the text has no extra spaces, and the .model's ids on any
// text equal the .bin's on that text with extra spaces removed.
TEST(SentencePieceOracle, tok512_model_and_bin_encode_identically) {
  LIMARP_ASSET(model, "stories260K/tok512.model");
  LIMARP_ASSET(bin, "stories260K/tok512.bin");
  auto sp = SentencePieceOracle::from_file(model);
  ASSERT_TRUE(sp);
  const Tokenizer from_model = must_load(model);
  const Tokenizer from_bin = must_load(bin, 512);
  ASSERT_EQ(from_bin.n_vocab(), 512);
  EXPECT_TRUE(from_model.vocab().remove_extra_whitespaces);
  EXPECT_EQ(from_model.vocab().pieces, from_bin.vocab().pieces);
  EXPECT_EQ(from_model.vocab().scores, from_bin.vocab().scores);
  EXPECT_EQ(from_model.vocab().types, from_bin.vocab().types);
  const auto corpus = testing::generate_corpus(4000, 3, from_model.vocab().pieces);
  testing::expect_same_encoding(from_model, *sp, corpus, "tok512.model");
  size_t same_text = 0, differ = 0;
  for (const CorpusString& c : corpus) {
    const std::string plain = without_extra_whitespace(c.text);
    const auto ids = from_model.encode(c.text);
    const bool same_as_plain = ids == from_bin.encode(plain);
    // Decoding differs only for pieces that are a bare "▁" at the start: with
    // remove_extra_whitespaces SentencePiece drops the "▁" of every leading piece.
    const bool same_text_same_result =
        plain != c.text ||
        (ids == from_bin.encode(c.text) && (!c.round_trips() || from_model.decode(ids) == from_bin.decode(ids)));
    same_text += plain == c.text;
    if ((!same_as_plain || !same_text_same_result) && ++differ <= 3)
      ADD_FAILURE() << "\"" << testing::escaped(c.text) << "\": .model " << testing::ids_text(ids) << ", .bin "
                    << testing::ids_text(from_bin.encode(plain));
  }
  EXPECT_GT(same_text, 1000u);
  EXPECT_EQ(differ, 0u);
  // Read to its end, the .bin gives the same vocabulary.
  EXPECT_EQ(must_load(bin).n_vocab(), 512);
}

TEST(SentencePieceOracle, llama2c_tokenizer_bin_matches_tokenizer_model) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  LIMARP_ASSET(bin, "llama2-tokenizer/tokenizer.bin");
  auto sp = SentencePieceOracle::from_file(model);
  ASSERT_TRUE(sp);
  const Tokenizer tok = must_load(bin, 32000);
  const auto corpus = testing::generate_corpus(3000, 4, tok.vocab().pieces);
  testing::expect_same_encoding(tok, *sp, corpus, "llama2.c tokenizer.bin");
}

// The writer's output is a model libsentencepiece accepts and encodes identically.
TEST(SentencePieceOracle, written_tokenizer_model_round_trips_through_libsentencepiece) {
  LIMARP_ASSET(gguf, "llama-vocab/ggml-vocab-llama-spm.gguf");
  const Tokenizer tok = must_load(gguf);
  auto sp = SentencePieceOracle::from_bytes(encode_sentencepiece_model(tok.vocab()));
  ASSERT_TRUE(sp);
  EXPECT_EQ(sp->processor().bos_id(), 1);
  EXPECT_EQ(sp->processor().eos_id(), 2);
  const auto corpus = testing::generate_corpus(2000, 5, tok.vocab().pieces);
  testing::expect_same_encoding(tok, *sp, corpus, "written tokenizer.model");
}

// Compares a vocabulary variant on both sides: written as a tokenizer.model, read back by
// our loader and by libsentencepiece.
void expect_variant_matches(const Vocab& vocab, size_t count, uint64_t seed, const std::string& what) {
  const std::string bytes = encode_sentencepiece_model(vocab);
  auto sp = SentencePieceOracle::from_bytes(bytes);
  ASSERT_TRUE(sp) << what;
  auto ours = parse_sentencepiece_vocab(
      std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), what);
  ASSERT_TRUE(ours.ok()) << ours.error().message();
  const Tokenizer tok = must_build(std::move(ours).value());
  auto corpus = testing::generate_corpus(count, seed, vocab.pieces);
  testing::expect_same_encoding(tok, *sp, corpus, what);
}

Vocab llama_vocab() {
  auto path = testing::asset_path("llama2-tokenizer/tokenizer.model");
  auto v = load_sentencepiece_vocab(*path);
  if (!v.ok()) std::abort();
  return std::move(v).value();
}

TEST(SentencePieceOracle, unused_pieces_are_split_back_like_sentencepiece) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  Vocab v = llama_vocab();
  // Every fifth ordinary piece becomes UNUSED, including common ones ("▁the", "ing").
  for (size_t i = 259; i < v.pieces.size(); i += 5) v.types[i] = TokenType::kUnused;
  auto tok = Tokenizer::from_vocab(v, "unused");
  ASSERT_TRUE(tok.ok());
  EXPECT_FALSE(tok->encoder().word_parallel());
  expect_variant_matches(v, 3000, 11, "Llama with UNUSED pieces");
}

TEST(SentencePieceOracle, user_defined_pieces_are_frozen_like_sentencepiece) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  Vocab v = llama_vocab();
  for (const char* p : {"[INST]", "[/INST]", "<<SYS>>", "###", "\xE2\x96\x81Response", "Lily", "ab", "aba", "\n\n",
                        "\xF0\x9F\xA6\x99", "\xE2\x96\x81\xE2\x96\x81"}) {
    auto it = std::find(v.pieces.begin(), v.pieces.end(), std::string(p));
    if (it != v.pieces.end()) {
      v.types[static_cast<size_t>(it - v.pieces.begin())] = TokenType::kUserDefined;
    } else {
      v.pieces.push_back(p);
      v.scores.push_back(0.0f);
      v.types.push_back(TokenType::kUserDefined);
    }
  }
  expect_variant_matches(v, 3000, 12, "Llama with USER_DEFINED pieces");
}

TEST(SentencePieceOracle, without_byte_fallback_unknown_runs_become_one_unk) {
  LIMARP_ASSET(model, "stories260K/tok512.model");
  auto base = load_sentencepiece_vocab(model);
  ASSERT_TRUE(base.ok());
  Vocab v;
  for (int32_t i = 0; i < base->size(); ++i) {
    if (base->types[static_cast<size_t>(i)] == TokenType::kByte) continue;
    v.pieces.push_back(base->pieces[static_cast<size_t>(i)]);
    v.scores.push_back(base->scores[static_cast<size_t>(i)]);
    v.types.push_back(base->types[static_cast<size_t>(i)]);
  }
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  expect_variant_matches(v, 3000, 13, "tok512 without byte pieces");
  const Tokenizer tok = must_build(v);
  const auto ids = tok.encode("a\xE2\x98\x83\xE2\x98\x83 b", {.add_bos = false});  // two snowmen: one <unk>
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 0), 1);
}

TEST(SentencePieceOracle, without_dummy_prefix) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  Vocab v = llama_vocab();
  v.add_space_prefix = false;
  expect_variant_matches(v, 2000, 14, "Llama without add_dummy_prefix");
}

TEST(SentencePieceOracle, pieces_joining_words_disable_word_parallel_encoding) {
  LIMARP_ASSET(model, "stories260K/tok512.model");
  auto v = load_sentencepiece_vocab(model);
  ASSERT_TRUE(v.ok());
  for (const char* p : {"e\xE2\x96\x81t", "d\xE2\x96\x81", ".\xE2\x96\x81\xE2\x96\x81"}) {
    v->pieces.push_back(p);
    v->scores.push_back(0.5f);  // better than every other piece: they win whenever possible
    v->types.push_back(TokenType::kNormal);
  }
  auto tok = Tokenizer::from_vocab(*v, "joining");
  ASSERT_TRUE(tok.ok());
  EXPECT_FALSE(tok->encoder().word_parallel());
  expect_variant_matches(*v, 2000, 15, "tok512 with word-joining pieces");
}

// Random id sequences (text pieces, bytes that do and do not form characters, control
// tokens, <unk>, lone "▁") decode exactly as libsentencepiece decodes them, and streaming
// gives the same text.
void expect_same_decoding(const std::string& model, uint64_t seed) {
  auto sp = SentencePieceOracle::from_file(model);
  ASSERT_TRUE(sp);
  const Tokenizer tok = must_load(model);
  const int32_t space = tok.find_piece("\xE2\x96\x81").value_or(3);
  Rng rng(seed);
  const std::vector<std::vector<int32_t>> byte_runs = {
      {0xE2 + 3, 0x96 + 3, 0x81 + 3}, {0xF0 + 3, 0x9F + 3, 0xA6 + 3, 0x99 + 3}, {0xF0 + 3, 0x9F + 3},
      {0xC3 + 3}, {0x80 + 3}, {0xED + 3, 0xA0 + 3, 0x80 + 3}, {0x41 + 3}, {0x0A + 3}, {0xFF + 3}};
  size_t mismatches = 0, stream_mismatches = 0;
  for (int k = 0; k < 6000; ++k) {
    std::vector<int32_t> ids;
    const size_t n = rng.next_u64() % 24;
    for (size_t i = 0; i < n; ++i) {
      switch (rng.next_u64() % 8) {
        case 0: ids.push_back(static_cast<int32_t>(rng.next_u64() % 3)); break;  // <unk>, <s>, </s>
        case 1: ids.push_back(space); break;
        case 2: ids.push_back(static_cast<int32_t>(3 + rng.next_u64() % 256)); break;
        case 3: {
          const auto& run = byte_runs[rng.next_u64() % byte_runs.size()];
          ids.insert(ids.end(), run.begin(), run.end());
          break;
        }
        default:
          ids.push_back(static_cast<int32_t>(259 + rng.next_u64() % static_cast<uint64_t>(tok.n_vocab() - 259)));
          break;
      }
    }
    const std::string ours = tok.decode(ids);
    const std::string want = sp->decode(ids);
    if (ours != want && ++mismatches <= 5)
      ADD_FAILURE() << testing::ids_text(ids) << "\n  ours: \"" << testing::escaped(ours)
                    << "\"\n  libsentencepiece: \"" << testing::escaped(want) << "\"";
    StreamDecoder stream(tok);
    std::string streamed;
    for (int32_t id : ids) streamed += stream.push(id);
    streamed += stream.flush();
    stream_mismatches += streamed != want;
  }
  EXPECT_EQ(mismatches, 0u) << model;
  EXPECT_EQ(stream_mismatches, 0u) << model;
}

TEST(SentencePieceOracle, decode_matches_on_random_id_sequences) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  expect_same_decoding(model, 21);
}

// tok512 removes extra whitespace, which changes the leading-space rule of decoding.
TEST(SentencePieceOracle, tok512_decode_matches_on_random_id_sequences) {
  LIMARP_ASSET(model, "stories260K/tok512.model");
  expect_same_decoding(model, 22);
}

}  // namespace
}  // namespace limarp
