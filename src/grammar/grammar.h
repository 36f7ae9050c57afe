// GBNF grammars (llama.cpp's dialect) parsed into a flat form a pushdown matcher walks.
//
//   LIMARP_ASSIGN_OR_RETURN(std::shared_ptr<const Grammar> g, parse_gbnf(R"(root ::= "yes" | "no")"));
//   GrammarState s = GrammarState::start(*g);
//   s = s.advance_bytes(*g, "ye");     // s.alive(), !s.complete()
//
// The dialect: `name ::= alternatives`, one rule per line (a rule may go on over several lines;
// the next `name ::=` starts another); `|` alternation; `( ... )` groups; `"literal"` with
// escapes \n \r \t \\ \" \xHH \uHHHH \UHHHHHHHH; `[a-z_]` and `[^...]` character classes; `.` any
// character; repetition `*` `+` `?` `{m}` `{m,}` `{m,n}`; `# comments`; UTF-8 anywhere. `root` is
// where matching starts. Errors name the line and column ("line 3, column 14: ...").
//
// Flat form: every alternative is a run of elements ended by kEnd, all in one array; a rule is
// the list of its alternatives' start positions. Groups and repetitions become generated rules
// (x* is S ::= x S | empty), so the matcher only knows characters and rule references.
// Left recursion is refused at parse time: the matcher expands rules eagerly and would not end.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace limarp {

struct CharRange {
  uint32_t lo, hi;  // code points, inclusive
};

enum class ElementKind : uint8_t { kEnd, kChars, kRule };

struct GrammarElement {
  ElementKind kind = ElementKind::kEnd;
  bool negated = false;  // kChars: matches what is outside the ranges
  uint32_t a = 0;        // kChars: first range index; kRule: rule id
  uint32_t b = 0;        // kChars: one past the last range index
};

struct Grammar {
  std::vector<GrammarElement> elements;
  std::vector<CharRange> ranges;
  std::vector<std::vector<uint32_t>> alternatives;  // per rule: start positions in `elements`
  std::vector<std::string> rule_names;               // generated rules are named "parent/N"
  uint32_t root = 0;

  bool matches(const GrammarElement& chars, uint32_t code_point) const;
  // Whether some code point in [lo, hi] matches (for a character still arriving byte by byte).
  bool matches_any(const GrammarElement& chars, uint32_t lo, uint32_t hi) const;
};

// Limits a grammar from a request stays within: its text, and repetition counts (each {m,n}
// copies its element up to n times).
inline constexpr size_t kMaxGrammarBytes = 1 << 20;
inline constexpr uint32_t kMaxGrammarRepeat = 1000;
inline constexpr size_t kMaxGrammarElements = 1 << 20;

Result<std::shared_ptr<const Grammar>> parse_gbnf(std::string_view text);

// Where a match stands: the live parse stacks (each a list of positions in `elements`; the top
// is always a kChars element; an empty stack means the input so far is a complete match) and a
// UTF-8 character of which only the first bytes arrived. Cheap to copy when few stacks live.
class GrammarState {
 public:
  static GrammarState start(const Grammar& g);

  // Input that no stack accepts leaves a dead state (alive() false); it stays dead.
  GrammarState advance_byte(const Grammar& g, uint8_t byte) const;
  GrammarState advance_bytes(const Grammar& g, std::string_view bytes) const;

  bool alive() const { return !stacks_.empty(); }
  // The input so far is a whole match (no character half-read).
  bool complete() const;
  // Nothing more can follow: the match is complete and no stack wants another character.
  bool finished() const;

 private:
  using Stack = std::vector<uint32_t>;
  GrammarState advance_code_point(const Grammar& g, uint32_t cp) const;
  bool partial_viable(const Grammar& g) const;
  static void expand(const Grammar& g, Stack stack, std::vector<Stack>& out, int depth, int& budget);
  void normalize();

  std::vector<Stack> stacks_;
  uint32_t pending_ = 0;    // the bits of a character still arriving
  uint8_t remaining_ = 0;   // its continuation bytes still to come
  uint8_t pending_len_ = 0; // its length in bytes, for the overlong check
};

}  // namespace limarp
