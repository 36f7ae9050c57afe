// A SentencePiece-BPE vocabulary: pieces (spaces written as U+2581 "▁"), merge scores, and
// piece types, plus the special ids. Every loader (GGUF metadata, tokenizer.model,
// tokenizer.json, llama2.c .bin) produces one of these.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
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
  // SentencePiece's remove_extra_whitespaces: drop leading and trailing spaces and collapse
  // runs of spaces into one. Off for Llama-2; on in some small llama2.c-trained models.
  bool remove_extra_whitespaces = false;
  // What <unk> decodes to (SentencePiece's trainer_spec.unk_surface; only tokenizer.model
  // files can say otherwise).
  std::string unk_surface = " \xE2\x81\x87 ";  // " ⁇ "

  int32_t size() const { return static_cast<int32_t>(pieces.size()); }
  Status validate(const std::string& source) const;

  // tokenizer.ggml.* keys.
  static Result<Vocab> from_gguf_metadata(const Metadata& m, const std::string& source);
  void to_gguf_metadata(Metadata& m) const;
};

// The 3-byte UTF-8 encoding of U+2581, SentencePiece's visible space.
inline constexpr const char* kSpaceMark = "\xE2\x96\x81";

// The byte a byte piece stands for ("<0x0A>" → 10), or -1 when `piece` is not of that form.
int byte_piece_value(std::string_view piece);

}  // namespace limarp
