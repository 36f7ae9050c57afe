// Truncated, corrupted and hostile model files are rejected with a message, never a crash, a
// hang, a huge allocation or an out-of-bounds read. Real files (the shared assets and files
// our writers produce) are truncated at many lengths and mutated many ways; every variant goes
// through the same path a user's file takes: parse, bind to a Llama, load the tokenizer, and
// run one forward step when it still loads. scripts/test.sh runs these under ASan + UBSan.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "base/rng.h"
#include "base/thread_pool.h"
#include "formats/gguf.h"
#include "formats/llama2c.h"
#include "formats/safetensors.h"
#include "model/forward.h"
#include "model/random_init.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_loaders.h"

namespace limarp {
namespace {

using Parser = Result<TensorStore> (*)(std::span<const uint8_t>, const std::string&);

// Everything a loaded file would go through; any error is fine, a crash is not.
void exercise(const std::vector<uint8_t>& bytes, Parser parse) {
  auto store = parse(bytes, "mutant");
  if (!store.ok()) {
    EXPECT_FALSE(store.error().message().empty());
    return;
  }
  auto vocab = Vocab::from_gguf_metadata(store->metadata, "mutant");
  if (vocab.ok()) {
    auto tok = Tokenizer::from_vocab(std::move(vocab.value()), "mutant");
    if (tok.ok()) (void)tok->decode(tok->encode("Hello world, mutants!"));
  }
  auto model = LlamaModel::from_store(std::move(store.value()));
  if (!model.ok()) return;
  ThreadPool pool(1);
  Forward fwd(*model, pool);
  KvCache cache(model->config(), 4);
  std::vector<float> logits;
  const int32_t tokens[2] = {1, static_cast<int32_t>(model->config().vocab_size - 1)};
  (void)fwd.eval(tokens, cache, logits);
}

std::vector<uint8_t> bytes_of(const std::string& path) {
  std::string s = testing::read_file(path);
  return {s.begin(), s.end()};
}

// Truncation at every length in the header region and at spread points through the data.
void truncations(const std::vector<uint8_t>& original, Parser parse) {
  std::vector<size_t> lengths;
  for (size_t n = 0; n < std::min<size_t>(original.size(), 512); ++n) lengths.push_back(n);
  for (int k = 1; k < 64; ++k) lengths.push_back(original.size() * k / 64);
  lengths.push_back(original.size() - 1);
  for (size_t n : lengths) {
    std::vector<uint8_t> cut(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(n));
    exercise(cut, parse);
  }
}

// Random byte, bit and field mutations, concentrated where the structure lives.
void mutations(const std::vector<uint8_t>& original, Parser parse, size_t structure_bytes, int count, uint64_t seed) {
  Rng rng(seed);
  const size_t region = std::min(structure_bytes, original.size());
  for (int i = 0; i < count; ++i) {
    std::vector<uint8_t> m = original;
    const int kind = i % 4;
    const int edits = 1 + static_cast<int>(rng.next_u64() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng.next_u64() % region;
      if (kind == 0) m[pos] ^= static_cast<uint8_t>(1u << (rng.next_u64() % 8));
      else if (kind == 1) m[pos] = static_cast<uint8_t>(rng.next_u64());
      else if (kind == 2 && pos + 8 <= m.size()) {  // a plausible-looking huge or negative field
        const uint64_t v = (rng.next_u64() % 2) ? ~uint64_t{0} - (rng.next_u64() % 16) : uint64_t{1} << (rng.next_u64() % 63);
        std::memcpy(&m[pos], &v, 8);
      } else if (pos + 4 <= m.size()) {
        const uint32_t v = static_cast<uint32_t>(rng.next_u64() % 64);
        std::memcpy(&m[pos], &v, 4);
      }
    }
    exercise(m, parse);
  }
}

Result<TensorStore> parse_llama2c_file(std::span<const uint8_t> b, const std::string& s) { return parse_llama2c(b, s); }

TEST(BadFiles, TruncatedAndMutatedGguf) {
  LIMARP_ASSET(stories, "stories260K/stories260K.gguf");
  LIMARP_ASSET(tiny, "llama-2-tiny-random/llama-2-tiny-random.gguf");
  for (const auto& path : {stories, tiny}) {
    const auto bytes = bytes_of(path);
    truncations(bytes, parse_gguf);
    // The header (metadata, vocabulary, tensor infos) of these files lies in the first ~40 KiB.
    mutations(bytes, parse_gguf, 48 << 10, 1500, 42);
  }
}

TEST(BadFiles, TruncatedAndMutatedVocabGguf) {
  LIMARP_ASSET(vocab, "llama-vocab/ggml-vocab-llama-spm.gguf");
  const auto bytes = bytes_of(vocab);
  for (int k = 0; k <= 32; ++k) exercise({bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() * k / 32)}, parse_gguf);
  mutations(bytes, parse_gguf, bytes.size(), 300, 7);
}

TEST(BadFiles, TruncatedAndMutatedLlama2c) {
  LIMARP_ASSET(legacy, "stories260K/stories260K.bin");
  LIMARP_ASSET(v1, "stories260K/stories260K_v1.bin");
  for (const auto& path : {legacy, v1}) {
    const auto bytes = bytes_of(path);
    truncations(bytes, parse_llama2c_file);
    mutations(bytes, parse_llama2c_file, 256, 800, 9);
  }
}

TEST(BadFiles, TruncatedAndMutatedSafetensors) {
  // A real file from our writer, with Hugging Face names.
  LlamaConfig c = named_shape("tiny-odd").value();
  const std::string dir = testing::scratch_dir("bad_safetensors");
  std::vector<OutTensor> tensors = random_llama_tensors(c, QuantRecipe::parse("f16").value(), 3);
  ASSERT_TRUE(write_safetensors(dir + "/m.safetensors", tensors).ok());
  const auto bytes = bytes_of(dir + "/m.safetensors");
  uint64_t header;
  std::memcpy(&header, bytes.data(), 8);
  truncations(bytes, parse_safetensors);
  mutations(bytes, parse_safetensors, 8 + header, 1500, 11);
}

TEST(BadFiles, MutatedTokenizerFiles) {
  LIMARP_ASSET(tok_bin, "stories260K/tok512.bin");
  LIMARP_ASSET(tok_model, "stories260K/tok512.model");
  const std::string dir = testing::scratch_dir("bad_tokenizers");
  Rng rng(5);
  for (const auto& path : {tok_bin, tok_model}) {
    const auto bytes = bytes_of(path);
    for (int i = 0; i < 300; ++i) {
      std::vector<uint8_t> m = bytes;
      if (i % 3 == 0) m.resize(rng.next_u64() % m.size());
      else m[rng.next_u64() % m.size()] = static_cast<uint8_t>(rng.next_u64());
      const std::string f = dir + "/t";
      testing::write_file(f, std::string(m.begin(), m.end()));
      auto tok = Tokenizer::load(f, 512);
      if (tok.ok()) (void)tok->decode(tok->encode("Once upon a time, mutants </s> ☃"));
    }
  }
}

TEST(BadFiles, HostileGgufHeadersNameTheProblem) {
  auto header = [](uint32_t version, uint64_t tensors, uint64_t kvs) {
    std::vector<uint8_t> b(24);
    std::memcpy(b.data(), "GGUF", 4);
    std::memcpy(&b[4], &version, 4);
    std::memcpy(&b[8], &tensors, 8);
    std::memcpy(&b[16], &kvs, 8);
    return b;
  };
  auto message = [](const std::vector<uint8_t>& b) {
    auto r = parse_gguf(b, "hostile.gguf");
    return r.ok() ? std::string("ok") : r.error().message();
  };
  EXPECT_NE(message(header(3, ~uint64_t{0}, 0)).find("tensor count"), std::string::npos);
  EXPECT_NE(message(header(3, 0, uint64_t{1} << 40)).find("metadata count"), std::string::npos);
  EXPECT_NE(message(header(9, 0, 0)).find("version 9"), std::string::npos);
  // A string whose length claims more than the file holds.
  auto b = header(3, 0, 1);
  const uint64_t huge = uint64_t{1} << 62;
  b.insert(b.end(), reinterpret_cast<const uint8_t*>(&huge), reinterpret_cast<const uint8_t*>(&huge) + 8);
  b.resize(b.size() + 16, 0);
  EXPECT_NE(message(b).find("claims"), std::string::npos) << message(b);
  for (const auto& m : {message(header(3, ~uint64_t{0}, 0))}) EXPECT_NE(m.find("hostile.gguf"), std::string::npos);
}

}  // namespace
}  // namespace limarp
