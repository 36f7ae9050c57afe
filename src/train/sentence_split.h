// Prose cut into sentences, for dataset types that build replies out of whole sentences of a
// story (train/story_roleplay.h). A reply cut in the middle of a sentence or of a quotation
// teaches a model to stop mid-thought, so the cuts are conservative: a sentence ends after
// `.`, `!` or `?` (runs like "?!" and "..." included, with any closing quotes, brackets or
// asterisks) followed by whitespace, unless
//   - the period closes a known abbreviation ("Mr.", "Dr.", "e.g.") or a single initial,
//   - the next word starts in lower case ("Help!" she cried.),
//   - a quotation closed there and a speech verb follows within three words
//     ("Can I play?" Lily asked.),
//   - a double quotation (or *action*) is still open.
// Line breaks always end a sentence and start a paragraph; blank lines count once.
//
//   for (const Sentence& s : split_sentences(story)) words += count_words(s.text);
#pragma once

#include <string_view>
#include <vector>

namespace limarp::train {

struct Sentence {
  std::string_view text;        // trimmed; a view into the split text
  bool opens_paragraph = false;  // the first sentence of a line
  bool closed = false;           // ends with a sentence mark, not just at a line's end
};

std::vector<Sentence> split_sentences(std::string_view text);

}  // namespace limarp::train
