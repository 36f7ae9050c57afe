#include "tokenizer/utf8.h"

namespace limarp {
namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The allowed range of the second byte after lead byte `c`, which is where overlong forms,
// surrogates and code points past U+10FFFF are excluded. {0, 0} for bytes that cannot lead.
struct SecondByteRange {
  unsigned char lo, hi;
};
SecondByteRange second_byte_range(unsigned char c) {
  if (c < 0xC2 || c > 0xF4) return {0, 0};
  if (c == 0xE0) return {0xA0, 0xBF};
  if (c == 0xED) return {0x80, 0x9F};
  if (c == 0xF0) return {0x90, 0xBF};
  if (c == 0xF4) return {0x80, 0x8F};
  return {0x80, 0xBF};
}

}  // namespace

size_t utf8_valid_char_len(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  const SecondByteRange r = second_byte_range(c);
  if (r.hi == 0) return 0;
  const size_t n = utf8_lead_len(c);
  if (i + n > s.size()) return 0;
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (c1 < r.lo || c1 > r.hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (!is_continuation(static_cast<unsigned char>(s[i + k]))) return 0;
  return n;
}

bool utf8_could_complete(std::string_view bytes) {
  const auto c = static_cast<unsigned char>(bytes[0]);
  const SecondByteRange r = second_byte_range(c);
  if (r.hi == 0 || bytes.size() >= utf8_lead_len(c)) return false;
  if (bytes.size() >= 2) {
    const auto c1 = static_cast<unsigned char>(bytes[1]);
    if (c1 < r.lo || c1 > r.hi) return false;
  }
  for (size_t k = 2; k < bytes.size(); ++k)
    if (!is_continuation(static_cast<unsigned char>(bytes[k]))) return false;
  return true;
}

void append_sanitized_utf8(std::string_view bytes, std::string& out) {
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = utf8_valid_char_len(bytes, i);
    if (n == 0) {
      out += kReplacementChar;
      ++i;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
}

}  // namespace limarp
