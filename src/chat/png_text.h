// Reads the text chunks of a PNG file without an image library: SillyTavern character cards
// are PNG images carrying their JSON, base64-encoded, in a tEXt chunk named "chara" (V2) or
// "ccv3" (V3).
//
//   LIMARP_ASSIGN_OR_RETURN(std::vector<PngTextChunk> chunks, read_png_text_chunks(bytes, "card.png"));
//
// The file is untrusted: the signature, every chunk's length against the bytes left, and every
// chunk's CRC-32 are checked, the chunk count and text sizes are capped, and reading stops at
// IEND. tEXt (Latin-1 keyword, NUL, text) and uncompressed iTXt are read; zTXt and compressed
// iTXt need zlib, so they are reported as text we could not read rather than silently skipped.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace limarp {

struct PngTextChunk {
  std::string keyword;
  std::string text;
  bool compressed = false;  // zTXt / compressed iTXt: `text` is empty
};

struct PngLimits {
  size_t max_chunks = 100000;
  size_t max_text_bytes = size_t{64} << 20;
};

Result<std::vector<PngTextChunk>> read_png_text_chunks(std::span<const uint8_t> bytes, std::string_view source,
                                                       PngLimits limits = {});

// CRC-32 (ISO 3309, as PNG uses), for the chunk check and for writing test files.
uint32_t png_crc32(std::span<const uint8_t> bytes);

bool looks_like_png(std::span<const uint8_t> bytes);

}  // namespace limarp
