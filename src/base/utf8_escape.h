// Text that must be valid UTF-8 (error messages, JSON strings, log lines) but may quote bytes
// from outside: a request line, a file name, a header. Invalid bytes become "\xHH", so the
// message stays readable and says exactly what was sent, and a JSON writer never throws on it.
//
//   Error(escape_invalid_utf8("HTTP version HTTP/\xff.\xff"))  // "HTTP version HTTP/\xff.\xff" as 4 ASCII chars each
#pragma once

#include <string>
#include <string_view>

namespace limarp {

// Length of the well-formed UTF-8 character at s[i] (RFC 3629: no overlongs, no surrogates,
// at most U+10FFFF), or 0 when s[i] does not start one.
size_t utf8_char_len(std::string_view s, size_t i);
bool is_valid_utf8(std::string_view s);
std::string escape_invalid_utf8(std::string text);

}  // namespace limarp
