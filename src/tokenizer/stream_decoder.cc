// StreamDecoder: SentencePiece's Decode, one token at a time.
//
// SentencePiece decodes a whole id list at once: runs of byte tokens are joined and cut into
// characters (an invalid byte becomes U+FFFD), and the first text piece loses its leading
// "▁" if nothing has been output before it and no earlier piece already lost one. To stream,
// bytes that may still become a character are held back; everything else is emitted at once.
// The state kept between tokens is exactly what that rule reads, so the concatenated output
// equals Tokenizer::decode of the same ids.
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace limarp {

void StreamDecoder::reset(bool at_start) {
  pending_.clear();
  at_start_ = at_start;
  dropped_space_ = false;
  emitted_ = !at_start;
}

void StreamDecoder::drain(std::string& out, Drain mode) {
  size_t i = 0;
  while (i < pending_.size()) {
    const size_t n = utf8_valid_char_len(pending_, i);
    if (n > 0) {
      out.append(pending_, i, n);
      i += n;
      continue;
    }
    if (mode == Drain::kKeepPartial && utf8_could_complete(std::string_view(pending_).substr(i))) break;
    out += kReplacementChar;
    ++i;
  }
  pending_.erase(0, i);
}

std::string StreamDecoder::push(int32_t id) {
  std::string out;
  if (id < 0 || id >= tok_.n_vocab()) return out;
  using Kind = Tokenizer::DecodePiece::Kind;
  const Tokenizer::DecodePiece& d = tok_.decode_piece(id);
  if (d.kind == Kind::kByte) {
    pending_ += static_cast<char>(d.byte);
    drain(out, Drain::kKeepPartial);
    if (!out.empty()) emitted_ = true;
    return out;
  }
  // A text or control piece ends a run of bytes: what is still held back is invalid.
  drain(out, Drain::kFinal);
  if (!out.empty()) emitted_ = true;
  if (dropped_space_ || emitted_) at_start_ = false;
  dropped_space_ = false;
  switch (d.kind) {
    case Kind::kControl: break;
    case Kind::kUnknown: out += d.text; break;
    default:
      if (at_start_ && d.leading_space && (tok_.vocab().add_space_prefix || tok_.vocab().remove_extra_whitespaces)) {
        out.append(d.text, 1);
        // Removing extra whitespace, SentencePiece drops the "▁" of every leading piece.
        dropped_space_ = !tok_.vocab().remove_extra_whitespaces;
      } else {
        out += d.text;
      }
      break;
  }
  if (!out.empty()) emitted_ = true;
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  drain(out, Drain::kFinal);
  if (!out.empty()) emitted_ = true;
  return out;
}

}  // namespace limarp
