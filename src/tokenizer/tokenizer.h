// The Llama-2 tokenizer: SentencePiece BPE with byte fallback.
//
// Encoding: a "▁" is prepended (add_dummy_prefix), spaces become "▁", the text is split into
// characters, and adjacent pieces are merged highest score first until no pair forms a
// vocabulary piece; characters without a piece fall back to their UTF-8 bytes (<0xNN>).
// Text that looks like a control token ("</s>") is plain text unless the caller asks for
// special-token parsing — a user cannot inject control tokens.
//
//   LIMARP_ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::load("tokenizer.model"));
//   std::vector<int32_t> ids = tok.encode("Hello world");   // {1, 15043, 3186}
//   std::string text = tok.decode(ids);                     // "Hello world"
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "formats/metadata.h"
#include "tokenizer/vocab.h"

namespace limarp {

struct EncodeOptions {
  bool add_bos = true;
  bool add_eos = false;
  // Recognise control-token text ("<s>", "</s>") as the control tokens themselves. Only for
  // templates that intend it; never for user text.
  bool parse_special = false;
};

class Tokenizer {
 public:
  static Result<Tokenizer> from_vocab(Vocab vocab, const std::string& source);
  // Any tokenizer file: SentencePiece tokenizer.model, Hugging Face tokenizer.json (or its
  // folder), llama2.c tokenizer .bin, or a GGUF file's metadata. `vocab_size` (from a model)
  // bounds llama2.c files, which do not record their size; -1 when unknown.
  static Result<Tokenizer> load(const std::string& path, int64_t vocab_size = -1);

  std::vector<int32_t> encode(std::string_view text, EncodeOptions options = {}) const;
  // Whole-sequence decode. A leading space is dropped at the start of the text or right
  // after BOS, as SentencePiece does (the dummy prefix).
  std::string decode(std::span<const int32_t> ids) const;
  // The raw bytes a token stands for ("▁" as space, <0x0A> as "\n"); control tokens give "".
  std::string token_bytes(int32_t id) const;
  // The piece as stored (for --pieces output).
  const std::string& piece(int32_t id) const { return vocab_.pieces[static_cast<size_t>(id)]; }
  std::optional<int32_t> find_piece(std::string_view piece) const;

  int32_t n_vocab() const { return vocab_.size(); }
  int32_t bos() const { return vocab_.bos_id; }
  int32_t eos() const { return vocab_.eos_id; }
  bool is_control(int32_t id) const;
  const Vocab& vocab() const { return vocab_; }
  const std::string& source() const { return source_; }

 private:
  void encode_text(std::string_view text, std::vector<int32_t>& out) const;
  void emit_piece(std::string_view piece, std::vector<int32_t>& out) const;

  Vocab vocab_;
  std::string source_;
  std::unordered_map<std::string, int32_t> piece_to_id_;
  int32_t byte_ids_[256];
  std::vector<int32_t> special_ids_;  // control/user-defined pieces for parse_special
};

// Incremental detokenizer for streaming: returns only complete UTF-8 characters, holding
// back a partial byte sequence until the rest arrives, and applies the same leading-space rule
// as decode(), so the concatenation of push() results plus flush() equals decode(ids).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer) : tok_(tokenizer) {}
  std::string push(int32_t id);
  std::string flush();  // whatever is held back (invalid bytes become U+FFFD)
  // Treat the next token as the start of text (after BOS); used when a prompt already ended.
  void reset(bool at_start);

 private:
  const Tokenizer& tok_;
  std::string pending_;
  bool at_start_ = true;
};

// Replaces invalid UTF-8 with U+FFFD the way SentencePiece's decoder does (one per bad byte).
std::string sanitize_utf8(std::string_view bytes);
// Length of the longest prefix of `bytes` that ends on a character boundary (incomplete
// trailing sequences excluded; invalid bytes count as complete).
size_t complete_utf8_prefix(std::string_view bytes);

}  // namespace limarp
