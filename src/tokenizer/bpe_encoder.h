// SentencePiece's BPE encoder, reimplemented to give exactly libsentencepiece's ids.
//
// The algorithm (bpe_model.cc in SentencePiece), for one piece of text:
//   1. Normalize (identity rule): a "▁" dummy prefix, every ' ' as "▁", every invalid UTF-8
//      byte as U+FFFD (and, if the vocabulary asks, extra spaces removed).
//   2. Split into symbols: a user-defined piece where one starts (longest match; such a
//      symbol is frozen and never merges), else one character.
//   3. Repeatedly merge the adjacent pair whose concatenation is a mergeable piece (type
//      NORMAL, USER_DEFINED or UNUSED) with the highest score; ties go to the leftmost pair.
//   4. Emit: a symbol that is an UNUSED piece is split back into the two symbols that formed
//      it (recorded when the pair was proposed: the last proposal for that piece wins, as in
//      SentencePiece); a symbol that is no piece is unknown: its UTF-8 bytes as <0xNN> pieces
//      when the vocabulary has them (byte fallback), else <unk>, with runs of unknown symbols
//      collapsed into one <unk>.
//
// Speed: when no piece joins a non-space character to a following "▁" (true of Llama) and
// there are no UNUSED pieces, merges can never cross the start of a "word" (a run of "▁"
// plus what follows up to the next "▁"), so each word is encoded on its own and repeated
// words come from a per-call cache. Otherwise the whole text is one span. Long spans keep
// their candidate pairs in a heap, so each merge costs O(log n) and a megabyte without
// spaces is fine; short words just rescan their few pairs for the best one.
//
//   LIMARP_ASSIGN_OR_RETURN(BpeEncoder enc, BpeEncoder::build(vocab, "tokenizer.model"));
//   enc.encode("Hello world", BpeEncoder::Prefix::kDummy, ids);   // appends {15043, 3186}
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/piece_table.h"
#include "tokenizer/vocab.h"

namespace limarp {

// Work done by one encode() call, for tests that check the cost grows linearly.
struct EncodeStats {
  uint64_t pair_lookups = 0;  // "is left+right a piece?" queries
  uint64_t merges = 0;
  uint64_t cached_words = 0;  // words answered by the per-call cache
};

class BpeEncoder {
 public:
  static Result<BpeEncoder> build(const Vocab& vocab, const std::string& source);

  // Whether to prepend the "▁" dummy prefix (the vocabulary's add_space_prefix decides
  // whether the caller asks for it).
  enum class Prefix { kNone, kDummy };
  // Appends the ids of `text` to `out`. Empty text gives no ids (and no prefix).
  void encode(std::string_view text, Prefix prefix, std::vector<int32_t>& out, EncodeStats* stats = nullptr) const;

  // SentencePiece's PieceToId: CONTROL/UNKNOWN/BYTE pieces first, then the mergeable ones;
  // -1 when the bytes are no piece.
  int32_t piece_to_id(std::string_view piece) const;
  bool byte_fallback() const { return byte_fallback_; }
  // True when words are encoded independently (see the top of this file).
  bool word_parallel() const { return word_parallel_; }

 private:
  struct Work;
  void encode_span(std::string_view norm, size_t begin, size_t end, Work& w, std::vector<int32_t>& out) const;
  void emit_symbol(std::string_view piece, int32_t id, Work& w, std::vector<int32_t>& out) const;
  void emit_unknown_or_id(std::string_view piece, int32_t id, std::vector<int32_t>& out) const;
  size_t match_user_symbol(std::string_view norm, size_t pos, size_t end) const;

  PieceTable mergeable_;              // NORMAL / USER_DEFINED / UNUSED pieces
  PieceTable reserved_;               // CONTROL / UNKNOWN / BYTE pieces
  std::vector<int32_t> emit_id_;      // per id: PieceToId(piece), which prefers reserved pieces
  std::vector<TokenType> types_;
  std::array<int32_t, 128> ascii_id_{};   // one-byte characters that are mergeable pieces, else -1
  std::array<int32_t, 256> byte_id_{};    // <0xNN> pieces, else -1
  // User-defined pieces by first byte, longest first.
  std::array<std::vector<std::string>, 256> user_symbols_;
  bool has_user_symbols_ = false;
  bool has_reserved_chars_ = false;   // a reserved piece is a single character (rare)
  bool has_unused_ = false;
  bool byte_fallback_ = false;
  bool word_parallel_ = false;
  bool remove_extra_whitespaces_ = false;
  int32_t unk_id_ = -1;
};

}  // namespace limarp
