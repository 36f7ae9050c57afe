#include "tokenizer/piece_table.h"

#include <cstring>

namespace limarp {
namespace {

constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;

inline uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t finish(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ULL;
  x ^= x >> 33;
  return x;
}

// Equality of short byte strings without a call: pieces are mostly a few bytes long.
inline bool same_bytes(const char* a, const char* b, size_t n) {
  if (n >= 8 && n <= 16) return load64(a) == load64(b) && load64(a + n - 8) == load64(b + n - 8);
  if (n >= 4 && n < 8) return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
  return std::memcmp(a, b, n) == 0;
}

uint32_t make_tag(uint64_t hash, size_t n) { return static_cast<uint32_t>((hash >> 48) << 16 | n); }

}  // namespace

uint64_t hash_piece_bytes(const char* p, size_t n) {
  // Whole words, then the tail with overlapping loads: pieces are short, so this is a few
  // multiplies per lookup instead of a loop over bytes. The length is mixed in first, so
  // overlapping loads of different lengths do not collide systematically.
  uint64_t h = kMul ^ (n * 0x2545F4914F6CDD1DULL);
  while (n > 8) {
    h = (h ^ load64(p)) * kMul;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t tail;
  if (n >= 4) {
    tail = load32(p) | (load32(p + n - 4) << 32);
  } else if (n > 0) {
    const auto b = [&](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(p[i])); };
    tail = b(0) | (b(n / 2) << 8) | (b(n - 1) << 16);
  } else {
    tail = 0;
  }
  return finish((h ^ tail) * kMul);
}

void PieceTable::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 4) cap <<= 1;  // load <= 1/4: misses, the common case, stop early
  if (cap <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  for (const Slot& s : old) {
    if (s.tag == 0) continue;
    const size_t len = s.tag & 0xFFFF;
    size_t i = probe_start(hash_piece_bytes(arena_.data() + s.offset, len));
    while (slots_[i].tag != 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void PieceTable::grow() { reserve(count_ * 2 + 16); }

bool PieceTable::insert(std::string_view piece, int32_t id, float score) {
  if (piece.empty() || piece.size() > kMaxPieceBytes) return false;
  if (find(piece)) return false;
  if ((count_ + 1) * 4 > slots_.size()) grow();
  const uint64_t h = hash_piece_bytes(piece.data(), piece.size());
  size_t i = probe_start(h);
  while (slots_[i].tag != 0) i = (i + 1) & mask_;
  slots_[i].tag = make_tag(h, piece.size());
  slots_[i].offset = static_cast<uint32_t>(arena_.size());
  slots_[i].entry = {id, score};
  arena_.append(piece);
  ++count_;
  if (piece.size() > max_bytes_) max_bytes_ = piece.size();
  return true;
}

const PieceTable::Entry* PieceTable::find(std::string_view piece) const {
  if (slots_.empty() || piece.empty() || piece.size() > max_bytes_) return nullptr;
  const uint64_t h = hash_piece_bytes(piece.data(), piece.size());
  const uint32_t tag = make_tag(h, piece.size());
  for (size_t i = probe_start(h);; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.tag == 0) return nullptr;
    if (s.tag == tag && same_bytes(arena_.data() + s.offset, piece.data(), piece.size())) return &s.entry;
  }
}

}  // namespace limarp
