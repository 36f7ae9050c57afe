// From rendered text to what the model sees: token ids per prompt segment.
//
//   std::vector<std::vector<int32_t>> seg = encode_segments(tok, render_limarp_prompt(chat));
//   // seg[0] starts with BOS; concatenated they equal tok.encode(prompt.text()).
//
// Why segments can be encoded one by one: every segment after the first begins with "\n", and
// Llama-2's vocabulary has no piece that joins a newline to what precedes it, so no BPE merge
// crosses a segment boundary. Encoding a segment alone adds SentencePiece's dummy-prefix "▁"
// in front of that newline; encode_segments removes it. The token budget can then drop a
// segment's tokens without re-encoding the rest. (The check that the concatenation equals the
// whole-text encoding is in the tests; `segments_encode_independently` verifies it at runtime
// for other tokenizers.)
#pragma once

#include <cstdint>
#include <vector>

#include "chat/rendered_prompt.h"
#include "tokenizer/tokenizer.h"

namespace limarp {

struct SegmentEncodeOptions {
  bool add_bos = true;  // BOS before the first segment
};

std::vector<std::vector<int32_t>> encode_segments(const Tokenizer& tok, const RenderedPrompt& prompt,
                                                  SegmentEncodeOptions options = {});
// True when the concatenation of encode_segments equals encoding the whole text.
bool segments_encode_independently(const Tokenizer& tok, const RenderedPrompt& prompt);

}  // namespace limarp
