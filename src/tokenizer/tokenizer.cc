#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "tokenizer/utf8.h"
#include "tokenizer/vocab_loaders.h"

namespace limarp {
namespace {

std::string mark_to_space(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, 3, kSpaceMark) == 0) {
      out += ' ';
      i += 3;
    } else {
      out += piece[i++];
    }
  }
  return out;
}

}  // namespace

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_sanitized_utf8(bytes, out);
  return out;
}

size_t complete_utf8_prefix(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = utf8_valid_char_len(bytes, i);
    if (n > 0) {
      i += n;
    } else if (utf8_could_complete(bytes.substr(i))) {
      return i;
    } else {
      ++i;
    }
  }
  return bytes.size();
}

Result<Tokenizer> Tokenizer::from_vocab(Vocab vocab, const std::string& source) {
  LIMARP_TRY(vocab.validate(source));
  LIMARP_ASSIGN_OR_RETURN(BpeEncoder encoder, BpeEncoder::build(vocab, source));
  Tokenizer t(std::move(vocab), source, std::move(encoder));
  const Vocab& v = t.vocab_;
  const size_t n = v.pieces.size();

  // Decoding looks each piece up again by its text, as SentencePiece does, so a duplicate
  // piece decodes like the one the lookup finds.
  t.decode_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& p = v.pieces[i];
    DecodePiece& d = t.decode_[i];
    const int32_t canonical = t.encoder_.piece_to_id(p);
    const TokenType type = canonical >= 0 ? v.types[static_cast<size_t>(canonical)] : TokenType::kUnknown;
    switch (type) {
      case TokenType::kControl: d.kind = DecodePiece::Kind::kControl; break;
      case TokenType::kUnknown:
        if (canonical >= 0) {
          d.kind = DecodePiece::Kind::kUnknown;
          d.text = v.unk_surface;
        } else {
          d.text = p;  // an empty piece: SentencePiece shows its (empty) text
        }
        break;
      case TokenType::kByte:
        d.kind = DecodePiece::Kind::kByte;
        d.byte = static_cast<uint8_t>(byte_piece_value(p));  // checked by the encoder
        break;
      default:
        d.text = mark_to_space(p);
        d.leading_space = p.starts_with(kSpaceMark);
        break;
    }
    if ((v.types[i] == TokenType::kControl || v.types[i] == TokenType::kUnknown) && !p.empty()) {
      t.special_ids_.push_back(static_cast<int32_t>(i));
      t.special_first_byte_[static_cast<unsigned char>(p[0])] = true;
    }
  }
  // Longest first, so "<s>" never shadows a longer control token that starts the same way.
  std::stable_sort(t.special_ids_.begin(), t.special_ids_.end(), [&](int32_t a, int32_t b) {
    return v.pieces[static_cast<size_t>(a)].size() > v.pieces[static_cast<size_t>(b)].size();
  });
  return t;
}

Result<Tokenizer> Tokenizer::load(const std::string& path, int64_t vocab_size) {
  LIMARP_ASSIGN_OR_RETURN(Vocab vocab, load_vocab(path, vocab_size));
  return from_vocab(std::move(vocab), path);
}

std::optional<int32_t> Tokenizer::find_piece(std::string_view piece) const {
  const int32_t id = encoder_.piece_to_id(piece);
  if (id < 0) return std::nullopt;
  return id;
}

bool Tokenizer::is_control(int32_t id) const {
  return id >= 0 && id < n_vocab() && vocab_.types[static_cast<size_t>(id)] == TokenType::kControl;
}

int32_t Tokenizer::match_special(std::string_view text, size_t pos) const {
  if (!special_first_byte_[static_cast<unsigned char>(text[pos])]) return -1;
  for (int32_t id : special_ids_) {
    const std::string& p = vocab_.pieces[static_cast<size_t>(id)];
    if (text.compare(pos, p.size(), p) == 0) return id;
  }
  return -1;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, EncodeOptions options) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (options.add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  const auto prefix = vocab_.add_space_prefix ? BpeEncoder::Prefix::kDummy : BpeEncoder::Prefix::kNone;
  if (!options.parse_special || special_ids_.empty()) {
    encoder_.encode(text, prefix, out);
  } else {
    size_t fragment = 0;
    for (size_t pos = 0; pos < text.size();) {
      const int32_t id = match_special(text, pos);
      if (id < 0) {
        ++pos;
        continue;
      }
      encoder_.encode(text.substr(fragment, pos - fragment), prefix, out);
      out.push_back(id);
      pos += vocab_.pieces[static_cast<size_t>(id)].size();
      fragment = pos;
    }
    encoder_.encode(text.substr(fragment), prefix, out);
  }
  if (options.add_eos && vocab_.eos_id >= 0) out.push_back(vocab_.eos_id);
  return out;
}

std::string Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= n_vocab()) return {};
  const DecodePiece& d = decode_piece(id);
  switch (d.kind) {
    case DecodePiece::Kind::kControl: return {};
    case DecodePiece::Kind::kByte: return std::string(1, static_cast<char>(d.byte));
    default: return d.text;
  }
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  StreamDecoder d(*this);
  std::string out;
  for (int32_t id : ids) out += d.push(id);
  return out + d.flush();
}

}  // namespace limarp
