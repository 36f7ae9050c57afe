// Format detection, and the llama2.c tokenizer .bin (the other formats have their own files:
// sentencepiece_model.cc, hf_tokenizer_json.cc, hf_tokenizer_config.cc; GGUF is in vocab.cc).
#include "tokenizer/vocab_loaders.h"

#include <cstring>
#include <filesystem>

#include "base/mapped_file.h"
#include "formats/gguf.h"
#include "formats/llama2c.h"

namespace fs = std::filesystem;

namespace limarp {
namespace {

// llama2.c files start with int32 max_token_length. A SentencePiece model starts with a
// protobuf key (0x0A) and a length, followed by another key, so its bytes 2..3 are never
// both zero; a plausible small int32 therefore means llama2.c.
bool looks_like_llama2c_tokenizer(std::span<const uint8_t> b) {
  if (b.size() < 4) return false;
  uint32_t max_len;
  std::memcpy(&max_len, b.data(), 4);
  return max_len >= 1 && max_len <= 65536;
}

// tokenizer_config.json beside a tokenizer.model or tokenizer.json, when there is one.
Status apply_sibling_config(const std::string& tokenizer_path, Vocab& vocab) {
  const fs::path config = fs::path(tokenizer_path).parent_path() / "tokenizer_config.json";
  std::error_code ec;
  if (!fs::is_regular_file(config, ec)) return {};
  return apply_hf_tokenizer_config(config.string(), vocab);
}

Result<Vocab> with_sibling_config(Result<Vocab> vocab, const std::string& path) {
  if (!vocab.ok()) return vocab;
  LIMARP_TRY(apply_sibling_config(path, *vocab));
  return vocab;
}

}  // namespace

Result<Vocab> load_llama2c_vocab(const std::string& path, int64_t vocab_size) {
  LIMARP_ASSIGN_OR_RETURN(Llama2cVocab raw, read_llama2c_tokenizer(path, vocab_size));
  Vocab v;
  const size_t n = raw.pieces.size();
  v.scores = std::move(raw.scores);
  v.types.assign(n, TokenType::kNormal);
  v.pieces.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string p;
    for (char c : raw.pieces[i]) {
      if (c == ' ') p += kSpaceMark;
      else p += c;
    }
    v.pieces.push_back(std::move(p));
  }
  // llama2.c's export (tokenizer.py) writes the SentencePiece vocabulary in order with
  // "▁" as ' ' and BOS/EOS as "\n<s>\n" / "\n</s>\n", and drops the piece types: Llama's
  // layout is <unk>, <s>, </s>, then the 256 byte pieces <0x00>..<0xFF>.
  if (n > 0) v.types[0] = TokenType::kUnknown;
  if (n > 1) {
    v.pieces[1] = "<s>";
    v.types[1] = TokenType::kControl;
  }
  if (n > 2) {
    v.pieces[2] = "</s>";
    v.types[2] = TokenType::kControl;
  }
  for (size_t i = 3; i < n && i < 259; ++i) {
    const std::string want = fmt::format("<0x{:02X}>", i - 3);
    if (v.pieces[i] == want) v.types[i] = TokenType::kByte;
  }
  LIMARP_TRY(v.validate(path));
  return v;
}

Result<Vocab> load_vocab(const std::string& path, int64_t vocab_size) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path dir(path);
    for (const char* name : {"tokenizer.model", "tokenizer.json"}) {
      if (fs::is_regular_file(dir / name, ec)) return load_vocab((dir / name).string(), vocab_size);
    }
    return make_error("{}: no tokenizer.model or tokenizer.json in this folder", path);
  }
  LIMARP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  const auto bytes = file.bytes();
  if (bytes.empty()) return make_error("{}: empty file, not a tokenizer", path);
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "GGUF", 4) == 0) {
    LIMARP_ASSIGN_OR_RETURN(TensorStore store, parse_gguf(bytes, path));
    return Vocab::from_gguf_metadata(store.metadata, path);
  }
  size_t first = 0;
  while (first < bytes.size() && std::isspace(bytes[first])) ++first;
  if (first < bytes.size() && bytes[first] == '{') {
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return with_sibling_config(parse_hf_tokenizer_json(text, path), path);
  }
  if (looks_like_llama2c_tokenizer(bytes)) return load_llama2c_vocab(path, vocab_size);
  if (bytes[0] == 0x0A) return with_sibling_config(parse_sentencepiece_vocab(bytes, path), path);
  return make_error("{}: not a tokenizer file (expected GGUF, SentencePiece tokenizer.model, Hugging Face "
                    "tokenizer.json or a llama2.c tokenizer .bin)",
                    path);
}

Result<Vocab> load_sentencepiece_vocab(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  return with_sibling_config(parse_sentencepiece_vocab(file.bytes(), path), path);
}

}  // namespace limarp
