// The Llama-2 tokenizer: SentencePiece BPE with byte fallback, giving exactly
// libsentencepiece's ids and text.
//
// Encoding: a "▁" is prepended (add_dummy_prefix), spaces become "▁", the text is split into
// characters, and adjacent pieces are merged highest score first (ties: leftmost) until no
// pair forms a vocabulary piece; characters without a piece fall back to their UTF-8 bytes
// (<0xNN>). See bpe_encoder.h for the whole algorithm.
// Text that looks like a control token ("</s>") is plain text unless the caller asks for
// special-token parsing — a user cannot inject control tokens.
//
// Decoding follows SentencePiece: control tokens are invisible, <unk> reads " ⁇ ", runs of
// byte tokens are joined into characters (each invalid byte becomes U+FFFD), and the "▁" of
// the first piece is dropped while nothing has been output yet (the dummy prefix), even
// after BOS.
//
//   LIMARP_ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::load("tokenizer.model"));
//   std::vector<int32_t> ids = tok.encode("Hello world");   // {1, 15043, 3186}
//   std::string text = tok.decode(ids);                     // "Hello world"
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "formats/metadata.h"
#include "tokenizer/bpe_encoder.h"
#include "tokenizer/vocab.h"

namespace limarp {

struct EncodeOptions {
  bool add_bos = true;
  bool add_eos = false;
  // Recognise control-token text ("<s>", "</s>", "<unk>") as the tokens themselves. Only for
  // templates that intend it; never for user text. Each stretch of text between control
  // tokens is encoded as SentencePiece would encode it alone (with its own dummy prefix),
  // which is how Llama-2's reference code builds chat prompts.
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
  // The raw bytes a token stands for ("▁" as space, <0x0A> as "\n", <unk> as " ⁇ ");
  // control tokens give "".
  std::string token_bytes(int32_t id) const;
  // The piece as stored (for --pieces output).
  const std::string& piece(int32_t id) const { return vocab_.pieces[static_cast<size_t>(id)]; }
  // The id of a piece, as SentencePiece's PieceToId finds it (control, unknown and byte
  // pieces first); nullopt when no piece has these bytes.
  std::optional<int32_t> find_piece(std::string_view piece) const;

  int32_t n_vocab() const { return vocab_.size(); }
  int32_t bos() const { return vocab_.bos_id; }
  int32_t eos() const { return vocab_.eos_id; }
  bool is_control(int32_t id) const;
  const Vocab& vocab() const { return vocab_; }
  const std::string& source() const { return source_; }
  // The encoder itself, for callers that want work counters (EncodeStats).
  const BpeEncoder& encoder() const { return encoder_; }

  // How decoding treats one token (after SentencePiece's re-lookup of its piece).
  struct DecodePiece {
    enum class Kind : uint8_t { kText, kControl, kUnknown, kByte };
    Kind kind = Kind::kText;
    uint8_t byte = 0;            // kByte
    bool leading_space = false;  // kText whose piece starts with "▁"
    std::string text;            // kText: the piece with "▁" as ' '; kUnknown: its surface (" ⁇ ")
  };
  const DecodePiece& decode_piece(int32_t id) const { return decode_[static_cast<size_t>(id)]; }

 private:
  Tokenizer(Vocab vocab, std::string source, BpeEncoder encoder)
      : vocab_(std::move(vocab)), source_(std::move(source)), encoder_(std::move(encoder)) {}
  // The longest control/unknown piece starting at text[pos], or -1.
  int32_t match_special(std::string_view text, size_t pos) const;

  Vocab vocab_;
  std::string source_;
  BpeEncoder encoder_;
  std::vector<DecodePiece> decode_;
  std::vector<int32_t> special_ids_;  // control and unknown pieces, longest first
  std::array<bool, 256> special_first_byte_{};
};

// Incremental detokenizer for streaming: returns only complete UTF-8 characters, holding
// back a partial byte sequence until the rest arrives, and applies the same leading-space rule
// as decode(), so the concatenation of push() results plus flush() equals decode(ids).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer) : tok_(tokenizer) {}
  std::string push(int32_t id);
  std::string flush();  // whatever is held back (invalid bytes become U+FFFD)
  // Treat the next token as the start of text (after BOS) when `at_start`, else as a
  // continuation (no leading space is dropped); used when a prompt already ended.
  void reset(bool at_start);

 private:
  // Turns held-back bytes into text; with `final`, an unfinished character is invalid.
  enum class Drain { kKeepPartial, kFinal };
  void drain(std::string& out, Drain mode);

  const Tokenizer& tok_;
  std::string pending_;       // bytes of byte tokens not yet forming whole characters
  bool at_start_ = true;      // SentencePiece's is_bos_ws: a leading "▁" may still be dropped
  bool dropped_space_ = false;  // the previous text piece had its "▁" dropped
  bool emitted_ = false;      // some text has been produced
};

// Replaces invalid UTF-8 with U+FFFD the way SentencePiece's decoder does (one per bad byte).
std::string sanitize_utf8(std::string_view bytes);
// Length of the longest prefix of `bytes` that ends on a character boundary (incomplete
// trailing sequences excluded; invalid bytes count as complete).
size_t complete_utf8_prefix(std::string_view bytes);

}  // namespace limarp
