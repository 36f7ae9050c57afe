#include "tokenizer/vocab_loaders.h"

#include <filesystem>

#include "base/mapped_file.h"
#include "formats/gguf.h"
#include "formats/llama2c.h"

namespace fs = std::filesystem;

namespace limarp {

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
  // llama2.c writes the specials as "<unk>", "\n<s>\n", "\n</s>\n" and bytes as <0xNN> at 3..258.
  if (n > 0) {
    v.pieces[0] = "<unk>";
    v.types[0] = TokenType::kUnknown;
  }
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
    if (fs::exists(dir / "tokenizer.model")) return load_sentencepiece_vocab((dir / "tokenizer.model").string());
    if (fs::exists(dir / "tokenizer.json")) return load_hf_tokenizer_json((dir / "tokenizer.json").string());
    return make_error("{}: no tokenizer.model or tokenizer.json in this folder", path);
  }
  LIMARP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  const auto bytes = file.bytes();
  if (bytes.size() >= 4 && std::equal(bytes.begin(), bytes.begin() + 4, "GGUF")) {
    LIMARP_ASSIGN_OR_RETURN(TensorStore store, parse_gguf(bytes, path));
    return Vocab::from_gguf_metadata(store.metadata, path);
  }
  size_t first = 0;
  while (first < bytes.size() && std::isspace(bytes[first])) ++first;
  if (first < bytes.size() && bytes[first] == '{') return load_hf_tokenizer_json(path);
  // A SentencePiece model starts with field 1 (pieces), wire type 2: byte 0x0A.
  if (!bytes.empty() && bytes[0] == 0x0A) return load_sentencepiece_vocab(path);
  return load_llama2c_vocab(path, vocab_size);
}

}  // namespace limarp
