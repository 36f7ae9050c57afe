#include "chat/prompt_tokens.h"

namespace limarp {

std::vector<std::vector<int32_t>> encode_segments(const Tokenizer& tok, const RenderedPrompt& prompt,
                                                  SegmentEncodeOptions options) {
  std::vector<std::vector<int32_t>> out;
  const auto dummy = tok.find_piece("\xE2\x96\x81");  // "▁"
  for (size_t i = 0; i < prompt.segments.size(); ++i) {
    const std::string& text = prompt.segments[i].text;
    std::vector<int32_t> ids = tok.encode(text, {.add_bos = i == 0 && options.add_bos});
    // A segment that continues the text: the dummy prefix encode() adds in front is not there
    // in the whole text.
    if (i > 0 && !ids.empty() && dummy && ids.front() == *dummy && !text.empty() && text.front() != ' ')
      ids.erase(ids.begin());
    out.push_back(std::move(ids));
  }
  return out;
}

bool segments_encode_independently(const Tokenizer& tok, const RenderedPrompt& prompt) {
  std::vector<int32_t> joined;
  for (auto& s : encode_segments(tok, prompt)) joined.insert(joined.end(), s.begin(), s.end());
  return joined == tok.encode(prompt.text(), {.add_bos = true});
}

}  // namespace limarp
