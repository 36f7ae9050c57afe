// A read-only hash table from piece bytes to (id, score), built once per tokenizer.
//
// The BPE encoder asks "is left+right a piece?" for every adjacent pair of symbols, millions
// of times per megabyte, and the answer is almost always "no". The candidate is a slice of
// the normalized text, so lookups take a string_view and never allocate; misses usually
// end at the first empty slot after comparing a 32-bit tag (16 hash bits + the length).
//
//   PieceTable t;
//   t.insert("▁the", 278, -1.0f);
//   if (const PieceTable::Entry* e = t.find(text.substr(i, n))) use(e->id, e->score);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace limarp {

class PieceTable {
 public:
  struct Entry {
    int32_t id;
    float score;
  };
  // Longest piece the table can hold; the tag keeps the length in 16 bits.
  static constexpr size_t kMaxPieceBytes = 0xFFFF;

  // Sizes the table for `n` pieces (call before inserting; inserting more is still fine).
  void reserve(size_t n);
  // Adds a piece unless one with the same bytes is present (the first occurrence wins, as in
  // SentencePiece). Returns false when it was already present or is too long.
  bool insert(std::string_view piece, int32_t id, float score);
  const Entry* find(std::string_view piece) const;

  size_t size() const { return count_; }

 private:
  struct Slot {
    uint32_t tag = 0;  // (hash >> 48) << 16 | length; 0 only for an empty slot (length >= 1)
    uint32_t offset = 0;  // into arena_
    Entry entry{-1, 0.0f};
  };
  void grow();
  size_t probe_start(uint64_t hash) const { return static_cast<size_t>(hash) & mask_; }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0;
  size_t count_ = 0;
  size_t max_bytes_ = 0;
};

// The hash used by PieceTable, exposed for the encoder's per-call word cache.
uint64_t hash_piece_bytes(const char* p, size_t n);

}  // namespace limarp
