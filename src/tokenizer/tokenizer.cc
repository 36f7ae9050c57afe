#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <queue>

#include "formats/gguf.h"
#include "tokenizer/vocab_loaders.h"

namespace limarp {
namespace {

size_t utf8_char_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 0x6) return 2;
  if ((c >> 4) == 0xE) return 3;
  if ((c >> 3) == 0x1E) return 4;
  return 1;  // invalid lead byte: a character of its own
}

// Length of a valid UTF-8 sequence starting at s[i], or 0 if invalid/incomplete.
size_t valid_utf8_at(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const size_t n = utf8_char_len(c);
  if (n == 1) return c < 0x80 ? 1 : 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  // Reject overlong forms and surrogates, as strict decoders do.
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (n == 2 && c < 0xC2) return 0;
  if (n == 3 && ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0))) return 0;
  if (n == 4 && ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90) || c > 0xF4)) return 0;
  return n;
}

std::string escape_spaces(std::string_view text, bool prefix) {
  std::string out;
  out.reserve(text.size() + 8);
  if (prefix) out += kSpaceMark;
  for (char ch : text) {
    if (ch == ' ') out += kSpaceMark;
    else out += ch;
  }
  return out;
}

int byte_piece_value(std::string_view piece) {
  if (piece.size() != 6 || !piece.starts_with("<0x") || piece[5] != '>') return -1;
  int v = 0;
  for (size_t i = 3; i < 5; ++i) {
    const char c = piece[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

}  // namespace

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = valid_utf8_at(bytes, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
  return out;
}

size_t complete_utf8_prefix(std::string_view bytes) {
  // Look back at most 3 bytes for the start of an unfinished character.
  const size_t n = bytes.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(bytes[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const size_t need = utf8_char_len(c);
    if (need > back && c >= 0xC0) {
      // Incomplete only if the bytes so far are valid continuations.
      return n - back;
    }
    return n;
  }
  return n;
}

Result<Tokenizer> Tokenizer::from_vocab(Vocab vocab, const std::string& source) {
  LIMARP_TRY(vocab.validate(source));
  Tokenizer t;
  t.vocab_ = std::move(vocab);
  t.source_ = source;
  std::fill(std::begin(t.byte_ids_), std::end(t.byte_ids_), -1);
  for (int32_t i = 0; i < t.vocab_.size(); ++i) {
    const std::string& p = t.vocab_.pieces[static_cast<size_t>(i)];
    const TokenType type = t.vocab_.types[static_cast<size_t>(i)];
    if (type == TokenType::kByte) {
      const int b = byte_piece_value(p);
      if (b < 0) return make_error("{}: byte token {} has piece {:?}, not <0xNN>", source, i, p);
      t.byte_ids_[b] = i;
      continue;
    }
    if (type == TokenType::kControl || type == TokenType::kUserDefined) {
      if (!p.empty()) t.special_ids_.push_back(i);
    }
    if (type == TokenType::kNormal || type == TokenType::kUserDefined || type == TokenType::kUnused) {
      t.piece_to_id_.emplace(p, i);  // first occurrence wins, as in SentencePiece
    }
  }
  // Longest specials first so "<s>" never shadows a longer control token.
  std::sort(t.special_ids_.begin(), t.special_ids_.end(), [&](int32_t a, int32_t b) {
    return t.vocab_.pieces[static_cast<size_t>(a)].size() > t.vocab_.pieces[static_cast<size_t>(b)].size();
  });
  return t;
}

Result<Tokenizer> Tokenizer::load(const std::string& path, int64_t vocab_size) {
  LIMARP_ASSIGN_OR_RETURN(Vocab vocab, load_vocab(path, vocab_size));
  return from_vocab(std::move(vocab), path);
}

std::optional<int32_t> Tokenizer::find_piece(std::string_view piece) const {
  auto it = piece_to_id_.find(std::string(piece));
  if (it == piece_to_id_.end()) return std::nullopt;
  return it->second;
}

bool Tokenizer::is_control(int32_t id) const {
  return id >= 0 && id < n_vocab() && vocab_.types[static_cast<size_t>(id)] == TokenType::kControl;
}

void Tokenizer::emit_piece(std::string_view piece, std::vector<int32_t>& out) const {
  auto it = piece_to_id_.find(std::string(piece));
  if (it != piece_to_id_.end()) {
    out.push_back(it->second);
    return;
  }
  // Byte fallback: every byte of the piece as <0xNN>, or <unk> when the vocabulary has none.
  bool all_bytes = true;
  for (unsigned char c : piece) all_bytes = all_bytes && byte_ids_[c] >= 0;
  if (all_bytes) {
    for (unsigned char c : piece) out.push_back(byte_ids_[c]);
  } else {
    out.push_back(vocab_.unk_id);
  }
}

void Tokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  // Symbols: one per character, in a doubly linked list; merges come from a max-heap of
  // adjacent pairs keyed by (score, leftmost). Stale heap entries are skipped on pop.
  struct Symbol {
    int32_t prev, next;
    uint32_t start, len;
  };
  std::vector<Symbol> sym;
  sym.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t n = valid_utf8_at(text, i);
    if (n == 0) n = 1;
    const auto idx = static_cast<int32_t>(sym.size());
    sym.push_back({idx - 1, idx + 1, static_cast<uint32_t>(i), static_cast<uint32_t>(n)});
    i += n;
  }
  sym.back().next = -1;

  struct Candidate {
    float score;
    int32_t left;
    uint32_t len;  // merged length: detects that a side changed since the push
    bool operator<(const Candidate& o) const { return score < o.score || (score == o.score && left > o.left); }
  };
  std::priority_queue<Candidate> heap;
  std::string key;
  auto try_pair = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = sym[left].next;
    if (right < 0) return;
    const uint32_t len = sym[left].len + sym[right].len;
    key.assign(text.substr(sym[left].start, len));
    auto it = piece_to_id_.find(key);
    if (it == piece_to_id_.end()) return;
    heap.push({vocab_.scores[static_cast<size_t>(it->second)], left, len});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(sym.size()); ++i) try_pair(i);

  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& l = sym[c.left];
    if (l.len == 0 || l.next < 0) continue;
    Symbol& r = sym[l.next];
    if (l.len + r.len != c.len) continue;  // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = c.left;
    try_pair(l.prev);
    try_pair(c.left);
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) emit_piece(text.substr(sym[i].start, sym[i].len), out);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, EncodeOptions options) const {
  std::vector<int32_t> out;
  if (options.add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  if (!options.parse_special) {
    encode_text(escape_spaces(text, vocab_.add_space_prefix && !text.empty()), out);
  } else {
    size_t pos = 0, fragment_start = 0;
    bool first = true;
    auto flush = [&](size_t end) {
      if (end > fragment_start) {
        encode_text(escape_spaces(text.substr(fragment_start, end - fragment_start), first && vocab_.add_space_prefix),
                    out);
      }
      first = false;
    };
    while (pos < text.size()) {
      int32_t match = -1;
      for (int32_t id : special_ids_) {
        const std::string& p = vocab_.pieces[static_cast<size_t>(id)];
        if (text.compare(pos, p.size(), p) == 0) {
          match = id;
          break;
        }
      }
      if (match < 0) {
        ++pos;
        continue;
      }
      flush(pos);
      out.push_back(match);
      pos += vocab_.pieces[static_cast<size_t>(match)].size();
      fragment_start = pos;
    }
    flush(text.size());
  }
  if (options.add_eos && vocab_.eos_id >= 0) out.push_back(vocab_.eos_id);
  return out;
}

std::string Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= n_vocab()) return {};
  const std::string& p = vocab_.pieces[static_cast<size_t>(id)];
  switch (vocab_.types[static_cast<size_t>(id)]) {
    case TokenType::kControl: return {};
    case TokenType::kByte: return std::string(1, static_cast<char>(byte_piece_value(p)));
    case TokenType::kUnknown: return " \xE2\x81\x87 ";
    default: break;
  }
  std::string out;
  out.reserve(p.size());
  for (size_t i = 0; i < p.size();) {
    if (p.compare(i, 3, kSpaceMark) == 0) {
      out += ' ';
      i += 3;
    } else {
      out += p[i++];
    }
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  StreamDecoder d(*this);
  std::string out;
  for (int32_t id : ids) out += d.push(id);
  return out + d.flush();
}

void StreamDecoder::reset(bool at_start) {
  pending_.clear();
  at_start_ = at_start;
}

std::string StreamDecoder::push(int32_t id) {
  if (id < 0 || id >= tok_.n_vocab()) return {};
  const TokenType type = tok_.vocab().types[static_cast<size_t>(id)];
  if (type == TokenType::kControl) return {};
  if (type == TokenType::kByte) {
    pending_ += tok_.token_bytes(id);
    const size_t keep = complete_utf8_prefix(pending_);
    std::string out = sanitize_utf8(std::string_view(pending_).substr(0, keep));
    pending_.erase(0, keep);
    if (!out.empty()) at_start_ = false;
    return out;
  }
  // A text piece ends any pending byte run: what is held back is invalid and becomes U+FFFD.
  std::string out = sanitize_utf8(pending_);
  pending_.clear();
  std::string piece = tok_.token_bytes(id);
  if (out.empty() && at_start_ && tok_.vocab().add_space_prefix && !piece.empty() && piece[0] == ' ' &&
      type != TokenType::kUnknown)
    piece.erase(0, 1);
  out += piece;
  if (!out.empty()) at_start_ = false;
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = sanitize_utf8(pending_);
  pending_.clear();
  if (!out.empty()) at_start_ = false;
  return out;
}

}  // namespace limarp
