// Standard base64 (RFC 4648, "+/" alphabet, "=" padding), as character cards store their JSON
// inside PNG text chunks. Decoding is strict about the alphabet but accepts missing padding and
// ignores ASCII whitespace (some tools wrap lines).
//
//   LIMARP_ASSIGN_OR_RETURN(std::string json, base64_decode(chunk_text));
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace limarp {

Result<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);

}  // namespace limarp
