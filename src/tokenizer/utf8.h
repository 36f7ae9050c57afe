// UTF-8 as SentencePiece sees it. The encoder and decoder must agree with libsentencepiece
// byte for byte, so validity follows its decoder exactly: a character is valid when it is
// well-formed, not overlong, not a surrogate and at most U+10FFFF; anything else counts as one
// invalid byte, which becomes U+FFFD (the normalizer does this on input, the decoder on
// output).
//
//   size_t n = utf8_valid_char_len(s, i);    // 0: s[i] is an invalid byte
//   if (utf8_could_complete(s.substr(i)))     // a character still waiting for its last bytes
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace limarp {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// Length that the lead byte announces (1 for ASCII and for bytes that cannot lead), as
// SentencePiece's OneCharLen: the encoder splits normalized text into characters with it.
inline size_t utf8_lead_len(unsigned char c) {
  if (c < 0xC0) return 1;
  if (c < 0xE0) return 2;
  if (c < 0xF0) return 3;
  return 4;
}

// Length of the valid character starting at s[i], or 0 when s[i] starts no valid character
// (bad lead byte, bad continuation, truncated, overlong, surrogate, beyond U+10FFFF).
size_t utf8_valid_char_len(std::string_view s, size_t i);

// True when `bytes` (non-empty) is a proper prefix of some valid character: more bytes may
// still make it valid. A streaming decoder holds such bytes back instead of emitting U+FFFD.
bool utf8_could_complete(std::string_view bytes);

// Appends `bytes` with every invalid byte replaced by U+FFFD (one per byte).
void append_sanitized_utf8(std::string_view bytes, std::string& out);

}  // namespace limarp
