#include "tokenizer/bpe_encoder.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "tokenizer/utf8.h"

namespace limarp {
namespace {

// Longest span encoded as one unit: symbol offsets are 32-bit. Merges never cross such a cut;
// no real text has a gigabyte without a space.
constexpr size_t kMaxSpanBytes = size_t{1} << 30;
// Words longer than this are encoded without consulting the cache (they rarely repeat).
constexpr size_t kMaxCachedWordBytes = 256;
// Spans of at most this many symbols find their best pair by a scan instead of a heap.
constexpr size_t kLinearScanSymbols = 24;

bool is_mark_at(std::string_view s, size_t i) {
  return i + 3 <= s.size() && s[i] == '\xE2' && s[i + 1] == '\x96' && s[i + 2] == '\x81';
}

// SentencePiece's normalizer with the identity rule (what Llama uses): the dummy prefix,
// spaces escaped as "▁", and each invalid UTF-8 byte replaced by U+FFFD. With
// remove_extra_whitespaces, leading spaces go, runs of spaces become one, and trailing "▁"
// go (SentencePiece strips them after escaping, so a trailing literal "▁" goes too).
void normalize(std::string_view text, BpeEncoder::Prefix prefix, bool remove_extra_whitespaces, std::string& norm) {
  if (remove_extra_whitespaces) {
    const size_t first = text.find_first_not_of(' ');
    text = first == std::string_view::npos ? std::string_view() : text.substr(first);
  }
  norm.resize(text.empty() ? 0 : text.size() * 3 + 3);  // worst case: every byte becomes three
  if (text.empty()) return;
  char* w = norm.data();
  auto put3 = [&](const char* p) {
    std::memcpy(w, p, 3);
    w += 3;
  };
  if (prefix == BpeEncoder::Prefix::kDummy) put3(kSpaceMark);
  bool previous_space = remove_extra_whitespaces;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) < 0x80) {
      ++i;
      if (c == ' ') {
        if (previous_space) continue;
        put3(kSpaceMark);
        previous_space = remove_extra_whitespaces;
      } else {
        *w++ = c;
        previous_space = false;
      }
      continue;
    }
    previous_space = false;
    const size_t n = utf8_valid_char_len(text, i);
    if (n == 0) {
      put3(kReplacementChar.data());
      ++i;
    } else {
      std::memcpy(w, text.data() + i, n);
      w += n;
      i += n;
    }
  }
  size_t size = static_cast<size_t>(w - norm.data());
  if (remove_extra_whitespaces)
    while (size >= 3 && std::memcmp(norm.data() + size - 3, kSpaceMark, 3) == 0) size -= 3;
  norm.resize(size);
}

// End of the word starting at `begin`: its run of "▁", then everything up to the next "▁".
size_t word_end(std::string_view norm, size_t begin) {
  size_t i = begin;
  while (is_mark_at(norm, i)) i += 3;
  while (i < norm.size()) {
    const void* p = std::memchr(norm.data() + i, 0xE2, norm.size() - i);
    if (!p) return norm.size();
    i = static_cast<size_t>(static_cast<const char*>(p) - norm.data());
    if (is_mark_at(norm, i)) return i;
    ++i;  // another character led by 0xE2; its continuation bytes cannot be 0xE2
  }
  return norm.size();
}

// Caps a span at kMaxSpanBytes, backing up to a character boundary.
size_t cap_span(std::string_view norm, size_t begin, size_t end) {
  if (end - begin <= kMaxSpanBytes) return end;
  size_t e = begin + kMaxSpanBytes;
  while (e > begin + 1 && (static_cast<unsigned char>(norm[e]) & 0xC0) == 0x80) --e;
  return e;
}

bool is_mergeable(TokenType t) {
  return t == TokenType::kNormal || t == TokenType::kUserDefined || t == TokenType::kUnused;
}

// True when the piece has a "▁" right after something other than "▁": such a piece could
// join the end of one word to the start of the next.
bool joins_words(std::string_view piece) {
  for (size_t i = 1; i + 3 <= piece.size(); ++i) {
    if (!is_mark_at(piece, i)) continue;
    if (i < 3 || !is_mark_at(piece, i - 3)) return true;
  }
  return false;
}

// Per-call memory of encoded words: word bytes (a slice of the normalized text) → a range
// of already emitted ids. Open addressing; never shrinks within a call.
class WordCache {
 public:
  struct Hit {
    size_t ids_begin, ids_count;
  };
  const Hit* find(uint64_t hash, std::string_view word, std::string_view norm) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.word_len == 0) return nullptr;
      if (s.hash == hash && s.word_len == word.size() &&
          std::memcmp(norm.data() + s.word_begin, word.data(), word.size()) == 0)
        return &s.hit;
    }
  }
  void insert(uint64_t hash, size_t word_begin, size_t word_len, Hit hit) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    size_t i = hash & mask_;
    while (slots_[i].word_len != 0) i = (i + 1) & mask_;
    slots_[i] = {hash, word_begin, word_len, hit};
    ++count_;
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    size_t word_begin = 0, word_len = 0;  // word_len 0: empty slot
    Hit hit{0, 0};
  };
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.word_len == 0) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].word_len != 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

}  // namespace

// Scratch memory for one encode() call.
struct BpeEncoder::Work {
  struct Symbol {
    int32_t prev, next;   // neighbours in the list of live symbols; -1 at the ends
    uint32_t start, len;  // bytes of the normalized span; len 0 once merged into the left
    int32_t id;           // the mergeable piece these bytes are, or -1
    bool frozen;          // a user-defined piece: never merges
  };
  struct Candidate {
    float score;
    int32_t left, right;
    uint32_t len;  // left.len + right.len when proposed: a mismatch later means stale
    int32_t id;
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> candidates;  // the heap, or per-symbol pairs for short words
  // UNUSED piece id → length of the left symbol of its last proposed pair (SentencePiece
  // keys the same map by piece text and overwrites on every proposal).
  std::unordered_map<int32_t, uint32_t> rev_merge;
  EncodeStats stats;
};

Result<BpeEncoder> BpeEncoder::build(const Vocab& vocab, const std::string& source) {
  BpeEncoder e;
  const size_t n = vocab.pieces.size();
  e.types_ = vocab.types;
  e.unk_id_ = vocab.unk_id;
  e.remove_extra_whitespaces_ = vocab.remove_extra_whitespaces;
  e.ascii_id_.fill(-1);
  e.byte_id_.fill(-1);
  e.emit_id_.assign(n, -1);
  e.mergeable_.reserve(n);
  std::vector<std::string_view> unused;
  for (size_t i = 0; i < n; ++i) {
    const std::string& p = vocab.pieces[i];
    const TokenType t = vocab.types[i];
    const auto id = static_cast<int32_t>(i);
    if (p.size() > PieceTable::kMaxPieceBytes)
      return make_error("{}: token {} is {} bytes long; pieces over {} bytes are not supported", source, i, p.size(),
                        PieceTable::kMaxPieceBytes);
    if (t == TokenType::kByte) {
      const int b = byte_piece_value(p);
      if (b < 0) return make_error("{}: byte token {} has piece {:?}, not <0xNN>", source, i, p);
      if (e.byte_id_[static_cast<size_t>(b)] < 0) e.byte_id_[static_cast<size_t>(b)] = id;
      e.byte_fallback_ = true;
    }
    if (p.empty()) continue;  // never matches text (SentencePiece rejects such files outright)
    if (!is_mergeable(t)) {
      e.reserved_.insert(p, id, 0.0f);
      if (p.size() == utf8_lead_len(static_cast<unsigned char>(p[0]))) e.has_reserved_chars_ = true;
      continue;
    }
    const bool first = e.mergeable_.insert(p, id, vocab.scores[i]);
    if (t == TokenType::kUserDefined) {
      auto& bucket = e.user_symbols_[static_cast<unsigned char>(p[0])];
      if (std::find(bucket.begin(), bucket.end(), p) == bucket.end()) bucket.push_back(p);
      e.has_user_symbols_ = true;
    }
    if (first && t == TokenType::kUnused) unused.push_back(p);
  }
  for (auto& bucket : e.user_symbols_)
    std::stable_sort(bucket.begin(), bucket.end(), [](const std::string& a, const std::string& b) {
      return a.size() > b.size();
    });
  bool joins = false;
  for (size_t i = 0; i < n; ++i) {
    const std::string& p = vocab.pieces[i];
    if (!is_mergeable(vocab.types[i]) || p.empty()) continue;
    const PieceTable::Entry* r = e.reserved_.find(p);
    e.emit_id_[i] = r ? r->id : static_cast<int32_t>(i);
    joins = joins || joins_words(p);
  }
  for (int c = 0; c < 128; ++c) {
    const char ch = static_cast<char>(c);
    if (const PieceTable::Entry* m = e.mergeable_.find(std::string_view(&ch, 1)))
      e.ascii_id_[static_cast<size_t>(c)] = m->id;
  }
  // UNUSED pieces matter only if some merge can make one: it splits into two symbols that
  // can merge (mergeable, not frozen, pieces or single characters). Filler pieces such as
  // "<extra_7>" never can, and should not cost the fast path.
  const auto can_be_symbol = [&](std::string_view s) {
    const PieceTable::Entry* m = e.mergeable_.find(s);
    if (m) return e.types_[static_cast<size_t>(m->id)] != TokenType::kUserDefined;
    return s.size() == utf8_lead_len(static_cast<unsigned char>(s[0]));
  };
  for (std::string_view p : unused) {
    for (size_t k = 1; k < p.size() && !e.has_unused_; ++k) {
      const bool char_boundary = (static_cast<unsigned char>(p[k]) & 0xC0) != 0x80;
      if (char_boundary && can_be_symbol(p.substr(0, k)) && can_be_symbol(p.substr(k))) e.has_unused_ = true;
    }
  }
  e.word_parallel_ = !joins && !e.has_unused_;
  return e;
}

int32_t BpeEncoder::piece_to_id(std::string_view piece) const {
  if (const PieceTable::Entry* r = reserved_.find(piece)) return r->id;
  if (const PieceTable::Entry* m = mergeable_.find(piece)) return m->id;
  return -1;
}

size_t BpeEncoder::match_user_symbol(std::string_view norm, size_t pos, size_t end) const {
  for (const std::string& s : user_symbols_[static_cast<unsigned char>(norm[pos])])
    if (s.size() <= end - pos && std::memcmp(norm.data() + pos, s.data(), s.size()) == 0) return s.size();
  return 0;
}

void BpeEncoder::emit_unknown_or_id(std::string_view piece, int32_t id, std::vector<int32_t>& out) const {
  if (id >= 0 && types_[static_cast<size_t>(id)] != TokenType::kUnknown) {
    out.push_back(id);
    return;
  }
  if (byte_fallback_) {
    for (unsigned char b : piece) {
      const int32_t byte = byte_id_[b] >= 0 ? byte_id_[b] : unk_id_;
      if (byte >= 0) out.push_back(byte);
    }
  } else if (unk_id_ >= 0) {
    out.push_back(unk_id_);
  }
}

void BpeEncoder::emit_symbol(std::string_view piece, int32_t id, Work& w, std::vector<int32_t>& out) const {
  // SentencePiece looks the final symbol up again by its text (PieceToId), which prefers
  // CONTROL/UNKNOWN/BYTE pieces; emit_id_ holds that answer for every mergeable piece.
  int32_t final_id = id >= 0 ? emit_id_[static_cast<size_t>(id)] : -1;
  if (id < 0 && has_reserved_chars_) final_id = piece_to_id(piece);
  if (final_id < 0 || !has_unused_ || types_[static_cast<size_t>(final_id)] != TokenType::kUnused) {
    emit_unknown_or_id(piece, final_id, out);
    return;
  }
  // An UNUSED piece is never emitted: split it into the pair that formed it, recursively.
  const auto it = w.rev_merge.find(final_id);
  if (it == w.rev_merge.end() || it->second == 0 || it->second >= piece.size()) {
    out.push_back(final_id);  // no recorded split (SentencePiece keeps the piece too)
    return;
  }
  const std::string_view halves[2] = {piece.substr(0, it->second), piece.substr(it->second)};
  for (std::string_view half : halves) {
    const int32_t half_id = piece_to_id(half);
    if (half_id >= 0 && types_[static_cast<size_t>(half_id)] == TokenType::kUnused) {
      emit_symbol(half, half_id, w, out);
    } else {
      emit_unknown_or_id(half, half_id, out);
    }
  }
}

void BpeEncoder::encode_span(std::string_view norm, size_t begin, size_t end, Work& w,
                             std::vector<int32_t>& out) const {
  using Symbol = Work::Symbol;
  using Candidate = Work::Candidate;
  auto& syms = w.symbols;
  syms.clear();
  for (size_t pos = begin; pos < end;) {
    const auto c = static_cast<unsigned char>(norm[pos]);
    size_t n = has_user_symbols_ ? match_user_symbol(norm, pos, end) : 0;
    const bool frozen = n > 0;
    if (!frozen) n = std::min(utf8_lead_len(c), end - pos);
    int32_t id = -1;
    if (n == 1 && c < 0x80) {
      id = ascii_id_[c];
    } else if (const PieceTable::Entry* m = mergeable_.find(norm.substr(pos, n))) {
      id = m->id;
    }
    const auto idx = static_cast<int32_t>(syms.size());
    syms.push_back({idx - 1, idx + 1, static_cast<uint32_t>(pos - begin), static_cast<uint32_t>(n), id, frozen});
    pos += n;
  }
  if (syms.empty()) return;
  syms.back().next = -1;

  // The candidate merge of symbols left and right, or id -1 when they cannot merge.
  const auto pair_of = [&](int32_t left, int32_t right) -> Candidate {
    Candidate c{0.0f, left, right, 0, -1};
    if (left < 0 || right < 0) return c;
    const Symbol& a = syms[static_cast<size_t>(left)];
    const Symbol& b = syms[static_cast<size_t>(right)];
    if (a.frozen || b.frozen) return c;
    ++w.stats.pair_lookups;
    c.len = a.len + b.len;
    if (const PieceTable::Entry* m = mergeable_.find(norm.substr(begin + a.start, c.len))) {
      c.score = m->score;
      c.id = m->id;
      if (has_unused_ && types_[static_cast<size_t>(m->id)] == TokenType::kUnused) w.rev_merge[m->id] = a.len;
    }
    return c;
  };
  const auto merge = [&](const Candidate& c) {
    Symbol& l = syms[static_cast<size_t>(c.left)];
    Symbol& r = syms[static_cast<size_t>(c.right)];
    l.len = c.len;
    l.id = c.id;
    l.next = r.next;
    if (r.next >= 0) syms[static_cast<size_t>(r.next)].prev = c.left;
    r.len = 0;
    ++w.stats.merges;
  };

  if (syms.size() <= kLinearScanSymbols && !has_unused_) {
    // A short word: rescanning the few live pairs for the best (highest score, then
    // leftmost) is cheaper than a heap and picks the same pair. (With UNUSED pieces the
    // order of proposals matters, so those take the heap.)
    auto& pairs = w.candidates;  // pairs[i]: symbol i with its right neighbour
    pairs.resize(syms.size());
    for (size_t i = 0; i < syms.size(); ++i) pairs[i] = pair_of(static_cast<int32_t>(i), syms[i].next);
    for (;;) {
      int32_t best = -1;
      for (int32_t i = 0; i >= 0; i = syms[static_cast<size_t>(i)].next) {
        const Candidate& c = pairs[static_cast<size_t>(i)];
        if (c.id >= 0 && (best < 0 || c.score > pairs[static_cast<size_t>(best)].score)) best = i;
      }
      if (best < 0) break;
      merge(pairs[static_cast<size_t>(best)]);
      const Symbol& l = syms[static_cast<size_t>(best)];
      pairs[static_cast<size_t>(best)] = pair_of(best, l.next);
      if (l.prev >= 0) pairs[static_cast<size_t>(l.prev)] = pair_of(l.prev, best);
    }
  } else {
    // Max-heap on (score, then leftmost), as SentencePiece's agenda; entries whose symbols
    // changed since they were proposed are skipped when popped.
    const auto lower = [](const Candidate& a, const Candidate& b) {
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    };
    auto& heap = w.candidates;
    heap.clear();
    const auto propose = [&](int32_t left, int32_t right) {
      const Candidate c = pair_of(left, right);
      if (c.id < 0) return;
      heap.push_back(c);
      std::push_heap(heap.begin(), heap.end(), lower);
    };
    for (size_t i = 1; i < syms.size(); ++i) propose(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), lower);
      const Candidate top = heap.back();
      heap.pop_back();
      const Symbol& l = syms[static_cast<size_t>(top.left)];
      const Symbol& r = syms[static_cast<size_t>(top.right)];
      if (l.len == 0 || r.len == 0 || l.len + r.len != top.len) continue;  // stale
      merge(top);
      propose(l.prev, top.left);
      propose(top.left, l.next);
    }
  }
  for (int32_t i = 0; i >= 0; i = syms[static_cast<size_t>(i)].next) {
    const Symbol& s = syms[static_cast<size_t>(i)];
    emit_symbol(norm.substr(begin + s.start, s.len), s.id, w, out);
  }
}

void BpeEncoder::encode(std::string_view text, Prefix prefix, std::vector<int32_t>& out, EncodeStats* stats) const {
  if (text.empty()) return;  // SentencePiece adds no prefix to empty text
  Work w;
  std::string norm;
  normalize(text, prefix, remove_extra_whitespaces_, norm);
  const size_t out_begin = out.size();
  if (!word_parallel_) {
    for (size_t b = 0; b < norm.size();) {
      const size_t e = cap_span(norm, b, norm.size());
      encode_span(norm, b, e, w, out);
      b = e;
    }
  } else {
    WordCache cache;
    for (size_t b = 0; b < norm.size();) {
      const size_t e = cap_span(norm, b, word_end(norm, b));
      const std::string_view word = std::string_view(norm).substr(b, e - b);
      if (word.size() > kMaxCachedWordBytes) {
        encode_span(norm, b, e, w, out);
      } else {
        const uint64_t h = hash_piece_bytes(word.data(), word.size());
        if (const WordCache::Hit* hit = cache.find(h, word, norm)) {
          for (size_t k = 0; k < hit->ids_count; ++k) {
            const int32_t id = out[hit->ids_begin + k];
            out.push_back(id);
          }
          ++w.stats.cached_words;
        } else {
          const size_t before = out.size();
          encode_span(norm, b, e, w, out);
          cache.insert(h, b, word.size(), {before, out.size() - before});
        }
      }
      b = e;
    }
  }
  // Without byte fallback, SentencePiece reports a run of unknown symbols as one <unk>.
  if (!byte_fallback_ && unk_id_ >= 0) {
    size_t keep = out_begin;
    for (size_t i = out_begin; i < out.size(); ++i) {
      if (out[i] == unk_id_ && keep > out_begin && out[keep - 1] == unk_id_) continue;
      out[keep++] = out[i];
    }
    out.resize(keep);
  }
  if (stats) *stats = w.stats;
}

}  // namespace limarp
