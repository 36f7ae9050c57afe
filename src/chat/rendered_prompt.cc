#include "chat/rendered_prompt.h"

namespace limarp {

const char* segment_kind_name(SegmentKind kind) {
  switch (kind) {
    case SegmentKind::kInstruction: return "instruction";
    case SegmentKind::kExample: return "example";
    case SegmentKind::kMessage: return "message";
    case SegmentKind::kOpenHeader: return "open_header";
  }
  return "?";
}

std::string RenderedPrompt::text() const { return text_from_message(0); }

std::string RenderedPrompt::text_from_message(int first_message) const {
  std::string out;
  for (const auto& s : segments)
    if (s.kind != SegmentKind::kMessage || s.message_index >= first_message) out += s.text;
  return out;
}

}  // namespace limarp
