// A rendered prompt as a list of segments: the instruction block, the example turns, one
// segment per message, and the open response header. Concatenated they are the prompt; a token
// budget drops whole oldest turns and keeps the rest, and the text stays well formed because
// every segment except the last ends where the next begins a fresh block.
//
//   RenderedPrompt p = render_limarp_prompt(chat);
//   std::string all = p.text();
//   std::string shorter = p.text_from_message(3);   // instruction + messages 3.. + header
//
// Options shared by the LimaRP renderer (limarp_prompt.h) and the instruct-preset renderer
// (instruct_render.h).
#pragma once

#include <string>
#include <vector>

namespace limarp {

// Which response headers carry " (length = LEVEL)".
enum class ModifierPlacement {
  kLast,   // only the open header (the one the model answers): the card's normal use
  kEvery,  // every response header, each with its message's own level (training data)
  kTagged, // the headers of messages that carry their own level, and the open header
  kNone,   // none
};

enum class ExampleMode {
  kAsTurns,  // the card's example dialogue as turns right after the instruction block
  kOmit,
};

// How the prompt ends.
enum class PromptTail {
  kOpenResponse,  // a new response header and "{char}:": the model writes the next reply
  kContinueLast,  // the last message (the char's) is left open for the model to continue;
                  // its header is the open one
  kClosed,        // every message closed, nothing open (training text)
};

struct PromptOptions {
  ModifierPlacement modifier = ModifierPlacement::kLast;
  ExampleMode examples = ExampleMode::kAsTurns;
  PromptTail tail = PromptTail::kOpenResponse;
};

enum class SegmentKind { kInstruction, kExample, kMessage, kOpenHeader };
const char* segment_kind_name(SegmentKind kind);  // "instruction", "example", "message", "open_header"

struct PromptSegment {
  SegmentKind kind;
  std::string text;
  int message_index = -1;  // index into ChatState::messages for kMessage; -1 otherwise
};

struct RenderedPrompt {
  std::vector<PromptSegment> segments;

  std::string text() const;
  // Every segment except messages with index < first_message: what the prompt becomes when
  // the oldest turns are dropped to fit the context.
  std::string text_from_message(int first_message) const;
};

}  // namespace limarp
