// The story_roleplay dataset type (train/dataset.h): plain stories, read like the completion
// type's files, told by a narrator in roleplay conversations whose replies cover every length
// level (train/story_roleplay.h), then trained exactly like limarp conversations.
#include <algorithm>
#include <deque>

#include "train/dataset.h"
#include "train/story_roleplay.h"
#include "train/text_documents.h"

namespace limarp::train {
namespace {
constexpr uint64_t kStoryStream = 0x73746f72ULL;  // "stor"
}

Result<std::vector<Sample>> load_story_roleplay(const DatasetSpec& spec, const TrainConfig& config,
                                                const Tokenizer& tok, DatasetReport& report) {
  LIMARP_ASSIGN_OR_RETURN(std::vector<std::string> files, dataset_files(spec.path, {".txt", ".jsonl", ".json"}));
  std::deque<std::string> texts;  // every story; a deque never moves them, so sentence views stay valid
  std::vector<Story> stories;
  for (const auto& file : files) {
    ++report.files;
    LIMARP_ASSIGN_OR_RETURN(std::vector<std::string> docs, read_documents(file, spec.field));
    std::erase_if(docs, [](const std::string& d) { return d.empty(); });
    if (docs.empty()) return make_error("{}: no text to tell (story_roleplay needs stories in prose)", file);
    size_t closed = 0;
    for (std::string& doc : docs) {
      stories.push_back(split_sentences(texts.emplace_back(std::move(doc))));
      closed += static_cast<size_t>(std::count_if(stories.back().begin(), stories.back().end(),
                                                  [](const Sentence& s) { return s.closed; }));
    }
    if (closed == 0)
      return make_error("{}: no sentence ends ('.', '!' or '?' before a space or a line end) in {} stories; "
                        "story_roleplay tells stories sentence by sentence and needs prose",
                        file, docs.size());
  }
  const LengthMeasure measure = length_measure(spec.length, tok);
  Rng story_rng(spec.story_seed.value_or(config.seed ^ kStoryStream));
  const StoryConversations told = stories_to_conversations(stories, spec.stories, spec.length, measure, story_rng);
  Rng augment_rng(spec.story_seed.value_or(config.seed) ^ kStoryStream ^ 1);
  std::vector<Sample> samples;
  for (size_t i = 0; i < told.conversations.size(); ++i) {
    ++report.records;
    add_roleplay_samples(told.conversations[i], fmt::format("{} (story conversation {})", spec.path, i + 1), spec,
                         config, tok, measure, augment_rng, report, samples);
  }
  return samples;
}

}  // namespace limarp::train
