// A SentencePiece-BPE vocabulary: pieces (spaces written as U+2581 "▁"), merge scores, and
// piece types, plus the special ids. Every loader (GGUF metadata, tokenizer.model,
// tokenizer.json, llama2.c .bin) produces one of these.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "formats/metadata.h"

namespace limarp {

// SentencePiece's piece types, with GGUF's numbering (tokenizer.ggml.token_type).
enum class TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct Vocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<TokenType> types;
  int32_t bos_id = 1;
  int32_t eos_id = 2;
  int32_t unk_id = 0;
  bool add_bos = true;
  bool add_eos = false;
  bool add_space_prefix = true;  // SentencePiece's add_dummy_prefix

  int32_t size() const { return static_cast<int32_t>(pieces.size()); }
  Status validate(const std::string& source) const;

  // tokenizer.ggml.* keys.
  static Result<Vocab> from_gguf_metadata(const Metadata& m, const std::string& source);
  void to_gguf_metadata(Metadata& m) const;
};

// The 3-byte UTF-8 encoding of U+2581, SentencePiece's visible space.
inline constexpr const char* kSpaceMark = "\xE2\x96\x81";

}  // namespace limarp
