#include "chat/png_text.h"

#include <array>
#include <cstring>

#include "base/byte_reader.h"

namespace limarp {
namespace {

constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[n] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

Result<uint32_t> read_be32(ByteReader& r, std::string_view what) {
  LIMARP_ASSIGN_OR_RETURN(auto b, r.read_bytes(4, what));
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

// Latin-1 (tEXt keywords and text) to UTF-8. The base64 in a card is ASCII anyway.
std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

}  // namespace

uint32_t png_crc32(std::span<const uint8_t> bytes) {
  uint32_t c = 0xffffffffu;
  for (uint8_t b : bytes) c = kCrcTable[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

bool looks_like_png(std::span<const uint8_t> bytes) {
  return bytes.size() >= 8 && std::memcmp(bytes.data(), kSignature, 8) == 0;
}

Result<std::vector<PngTextChunk>> read_png_text_chunks(std::span<const uint8_t> bytes, std::string_view source,
                                                       PngLimits limits) {
  if (!looks_like_png(bytes)) return make_error("{}: not a PNG file (bad signature)", source);
  ByteReader r(bytes);
  LIMARP_TRY(r.skip(8, "signature"));
  std::vector<PngTextChunk> out;
  size_t text_bytes = 0;
  for (size_t index = 0;; ++index) {
    if (index >= limits.max_chunks) return make_error("{}: more than {} chunks", source, limits.max_chunks);
    if (r.at_end()) return make_error("{}: truncated: the file ends without an IEND chunk", source);
    const size_t chunk_start = r.position();
    auto length = read_be32(r, "chunk length");
    if (!length.ok()) return length.error().with_context(fmt::format("{}: chunk {}", source, index));
    // PNG caps chunk lengths at 2^31 - 1.
    if (*length > 0x7fffffffu)
      return make_error("{}: chunk {} at byte {} claims {} bytes (over the PNG limit)", source, index, chunk_start, *length);
    const size_t data_left = r.remaining() >= 4 ? r.remaining() - 4 : 0;
    auto type_and_data = r.read_bytes(uint64_t{4} + *length, "chunk type and data");
    if (!type_and_data.ok())
      return make_error("{}: truncated chunk {} at byte {}: {} data bytes claimed, {} left", source, index, chunk_start,
                        *length, data_left);
    auto crc = read_be32(r, "chunk CRC");
    if (!crc.ok()) return make_error("{}: truncated chunk {} at byte {}: CRC missing", source, index, chunk_start);
    const std::string type(reinterpret_cast<const char*>(type_and_data->data()), 4);
    for (char ch : type)
      if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')))
        return make_error("{}: chunk {} at byte {} has an invalid type", source, index, chunk_start);
    if (png_crc32(*type_and_data) != *crc)
      return make_error("{}: chunk {} ({}) at byte {} fails its CRC check (file corrupted?)", source, index, type, chunk_start);
    if (type == "IEND") break;
    const std::string_view data(reinterpret_cast<const char*>(type_and_data->data()) + 4, *length);
    if (type != "tEXt" && type != "iTXt" && type != "zTXt") continue;
    text_bytes += data.size();
    if (text_bytes > limits.max_text_bytes)
      return make_error("{}: text chunks exceed {} bytes", source, limits.max_text_bytes);
    const size_t nul = data.find('\0');
    if (nul == std::string_view::npos || nul == 0 || nul > 79)
      return make_error("{}: {} chunk {} has no valid keyword", source, type, index);
    PngTextChunk chunk;
    chunk.keyword = latin1_to_utf8(data.substr(0, nul));
    std::string_view rest = data.substr(nul + 1);
    if (type == "tEXt") {
      chunk.text = latin1_to_utf8(rest);
    } else if (type == "zTXt") {
      chunk.compressed = true;
    } else {
      // iTXt: compression flag, method, language tag\0, translated keyword\0, text (UTF-8).
      if (rest.size() < 2) return make_error("{}: iTXt chunk {} is truncated", source, index);
      const bool compressed = rest[0] != 0;
      rest.remove_prefix(2);
      for (int field = 0; field < 2; ++field) {
        const size_t end = rest.find('\0');
        if (end == std::string_view::npos) return make_error("{}: iTXt chunk {} is truncated", source, index);
        rest.remove_prefix(end + 1);
      }
      chunk.compressed = compressed;
      if (!compressed) chunk.text = std::string(rest);
    }
    out.push_back(std::move(chunk));
  }
  return out;
}

}  // namespace limarp
