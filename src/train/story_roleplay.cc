#include "train/story_roleplay.h"

#include <algorithm>
#include <numeric>
#include <string_view>

#include "base/status.h"

namespace limarp::train {
namespace {

// Single-word names, so a reply's word count is the same whether a name is counted or not,
// and uncommon in children's stories, so the narrator is rarely a character of the story.
constexpr std::array<std::string_view, 16> kNarratorNames = {"Rosa", "Hugo", "Mabel", "Otto",  "Wren",  "Felix",
                                                             "Ada",  "Bruno", "Clara", "Milo", "Greta", "Oscar",
                                                             "Ivy",  "Jasper", "Nell", "Rufus"};
constexpr std::array<std::string_view, 16> kListenerNames = {"Pip",  "Lottie", "Junie", "Theo",  "Bea",   "Finn",
                                                             "Poppy", "Maisie", "Kit",  "Rosie", "Ned",   "Tilly",
                                                             "Ollie", "Hazel",  "Cosmo", "Wilma"};
// Without pronouns, which could contradict a name.
constexpr std::array<std::string_view, 6> kNarratorPersonas = {
    "{char} is a kind old storyteller who knows a story for every evening and tells each one slowly, with a warm "
    "voice and a twinkle in the eye.",
    "{char} is a wise old owl who lives in the big oak tree by the school. The animals of the wood have told {char} "
    "many stories, and {char} loves to pass them on.",
    "{char} is the librarian of a small town library, who knows the books on every shelf and reads stories aloud to "
    "the children who visit.",
    "{char} is a small friendly robot who collects stories from all over the world and tells them in a soft, gentle "
    "voice.",
    "{char} is a traveling storyteller with a patched coat and a big bag of stories, who tells them by the fire "
    "wherever the road stops for the night.",
    "{char} is {user}'s grandparent, who has told bedtime stories to the whole family for many years."};
constexpr std::array<std::string_view, 4> kListenerPersonas = {
    "{user} is a curious little child who loves stories and always wants to know what happens next.",
    "{user} is a sleepy child in pajamas who asks for one more story every night.",
    "{user} is a young visitor who likes stories about animals, friends and small adventures.",
    "{user} is a lively child who listens with big eyes and cannot wait to hear how a story ends."};
constexpr std::array<std::string_view, 4> kTimes = {"bedtime", "a rainy afternoon", "evening by the fire",
                                                    "a sunny day under the big tree in the park"};
constexpr std::string_view kOpeningScenario =
    "It is {when}, and {user} asks {char} for a story. {char} tells it a part at a time, and {user} asks for more "
    "after each part.";
constexpr std::string_view kResumeScenario =
    "It is {when}, and {char} is in the middle of telling {user} a story. {char} goes on from where it stopped, a "
    "part at a time.";

// What the listener says before a reply, by where the telling stands.
constexpr std::array<std::string_view, 5> kFirstStory = {
    "Can you tell me a story, {char}?", "*{user} climbs into the big chair.* \"Will you tell me a story?\"",
    "I can't sleep. Will you tell me a story, please?", "Tell me a story, please!",
    "*{user} sits down and looks up at {char}.* \"Do you know a good story?\""};
constexpr std::array<std::string_view, 4> kAnotherStory = {
    "That was a good one! Can you tell me another story?", "Another one, please!",
    "Do you know another story, {char}?", "*{user} claps.* \"Tell me one more!\""};
constexpr std::array<std::string_view, 7> kGoOn = {
    "What happened next?",      "And then what happened?", "*{user} leans closer.* \"Go on!\"",
    "Please keep going.",       "What did they do then?",  "I want to hear more!",
    "*{user} hugs a pillow.* \"And then?\""};
constexpr std::array<std::string_view, 3> kResume = {
    "Can you go on with the story from where you stopped?", "Please tell me more of the story, {char}.",
    "*{user} snuggles up.* \"Where were we? Go on, please!\""};

template <size_t N>
std::string_view pick(const std::array<std::string_view, N>& options, Rng& rng) {
  return options[rng.next_u64() % N];
}

std::string fill(std::string_view pattern, const ChatState& chat, std::string_view when) {
  const std::array<std::pair<std::string_view, std::string_view>, 3> values = {
      {{"{char}", chat.char_name}, {"{user}", chat.user_name}, {"{when}", when}}};
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    const auto hit = std::find_if(values.begin(), values.end(),
                                  [&](const auto& kv) { return pattern.substr(i).starts_with(kv.first); });
    if (hit == values.end()) {
      out += pattern[i++];
      continue;
    }
    out += hit->second;
    i += hit->first.size();
  }
  return out;
}

struct Band {
  LengthLevel level;
  int64_t low, high;  // inclusive, in the rule's unit
};

Band band_of(LengthLevel level, const LengthLabelRule& rule, int64_t max_reply_length) {
  const size_t i = length_level_index(level);
  const int64_t low = i == 0 ? 1 : rule.upper_bounds[i - 1] + 1;
  if (i < rule.upper_bounds.size()) return {level, low, rule.upper_bounds[i]};
  const int64_t high = max_reply_length > 0 ? max_reply_length : rule.upper_bounds.back() * 3 / 2;
  return {level, low, std::max(low, high)};
}

// Draws each reply's aimed level: the requested share plus how far the level lags behind it.
// The share keeps the order random (a level may repeat); the lag pulls the counts back when
// replies miss their aim. Not drawn for a reply: a level whose band the next sentence alone
// overshoots (tiny, before a long sentence), which would be missed and whose lag would then
// crowd out the others; and a level that fits in a story (its band starts below the median
// story's length) where the rest of the current story is too short for it, so that only the
// long levels run from one story into the next — unless no requested level is left to draw
// (the tail of a story when only long levels are requested), when any may.
class LevelChooser {
 public:
  LevelChooser(const StoryRoleplayOptions& o, const LengthLabelRule& rule, int64_t median_story)
      : levels_(o.levels), shares_(o.weights) {
    if (shares_.empty()) shares_.assign(levels_.size(), 1.0);
    double total = 0;
    for (double w : shares_) total += w;
    for (double& w : shares_) w /= total;
    for (LengthLevel l : levels_) {
      bands_.push_back(band_of(l, rule, o.max_reply_length));
      joins_.push_back(bands_.back().low > median_story);
    }
  }

  struct Aim {
    const Band& band;
    bool joins_stories;  // the reply may go on into the next story
  };

  // The aimed level, for a reply whose first sentence has length `first` and whose story has
  // `left` to tell (that sentence included).
  Aim next(const std::array<int64_t, kLengthLevelCount>& made, int64_t first, int64_t left, Rng& rng) const {
    int64_t n = 0;
    for (int64_t m : made) n += m;
    std::vector<bool> open(levels_.size());
    auto none_open = [&] { return std::find(open.begin(), open.end(), true) == open.end(); };
    for (size_t i = 0; i < levels_.size(); ++i)
      open[i] = first <= bands_[i].high && (joins_[i] || bands_[i].low <= left);
    bool any_joins = false;
    if (none_open()) {
      any_joins = true;
      for (size_t i = 0; i < levels_.size(); ++i) open[i] = first <= bands_[i].high;
    }
    if (none_open()) open.assign(levels_.size(), true);
    std::vector<double> p(levels_.size());
    double total = 0;
    for (size_t i = 0; i < levels_.size(); ++i) {
      if (!open[i]) continue;
      const double lag =
          shares_[i] * static_cast<double>(n + 1) - static_cast<double>(made[length_level_index(levels_[i])]);
      total += p[i] = std::max(0.0, lag) + shares_[i];
    }
    double u = rng.uniform() * total;
    size_t pick = 0;
    for (size_t i = 0; i < levels_.size(); ++i) {
      if (p[i] == 0) continue;
      pick = i;  // the last drawable one if rounding leaves u past the end
      if (u < p[i]) break;
      u -= p[i];
    }
    return {bands_[pick], any_joins || joins_[pick]};
  }

 private:
  std::vector<LengthLevel> levels_;
  std::vector<double> shares_;
  std::vector<Band> bands_;
  std::vector<bool> joins_;
};

// Each sentence's length, measured once (a token measure tokenizes).
std::vector<std::vector<int64_t>> sentence_lengths(const std::vector<Story>& stories, const LengthMeasure& measure) {
  std::vector<std::vector<int64_t>> out(stories.size());
  for (size_t i = 0; i < stories.size(); ++i)
    for (const Sentence& s : stories[i]) out[i].push_back(measure(s.text));
  return out;
}

int64_t median_story_length(const std::vector<std::vector<int64_t>>& lengths) {
  std::vector<int64_t> totals;
  for (const auto& story : lengths)
    if (!story.empty()) totals.push_back(std::accumulate(story.begin(), story.end(), int64_t{0}));
  if (totals.empty()) return 0;
  std::nth_element(totals.begin(), totals.begin() + static_cast<long>(totals.size() / 2), totals.end());
  return totals[totals.size() / 2];
}

}  // namespace

StoryConversations stories_to_conversations(const std::vector<Story>& stories, const StoryRoleplayOptions& options,
                                            const LengthLabelRule& rule, const LengthMeasure& measure, Rng& rng) {
  LIMARP_CHECK(!options.levels.empty() && (options.weights.empty() || options.weights.size() == options.levels.size()));
  LIMARP_CHECK(options.replies_per_conversation > 0);
  const std::vector<std::vector<int64_t>> lengths = sentence_lengths(stories, measure);
  const LevelChooser chooser(options, rule, median_story_length(lengths));
  StoryConversations out;
  // Where the telling stands: the next sentence to tell.
  size_t story = 0, sentence = 0;
  auto next_story = [&] {
    ++story;
    sentence = 0;
    while (story < stories.size() && stories[story].empty()) ++story;
  };
  if (!stories.empty() && stories[0].empty()) next_story();
  while (story < stories.size() &&
         (options.max_conversations == 0 || static_cast<int64_t>(out.conversations.size()) < options.max_conversations)) {
    ChatState chat;
    chat.char_name = pick(kNarratorNames, rng);
    chat.user_name = pick(kListenerNames, rng);
    const std::string_view when = pick(kTimes, rng);
    chat.char_persona = fill(pick(kNarratorPersonas, rng), chat, when);
    chat.user_persona = fill(pick(kListenerPersonas, rng), chat, when);
    chat.scenario = fill(sentence == 0 ? kOpeningScenario : kResumeScenario, chat, when);
    for (int64_t r = 0; r < options.replies_per_conversation && story < stories.size(); ++r) {
      const std::string_view ask = sentence > 0 ? (r == 0 ? pick(kResume, rng) : pick(kGoOn, rng))
                                                : (r == 0 ? pick(kFirstStory, rng) : pick(kAnotherStory, rng));
      chat.messages.push_back({ChatRole::kUser, fill(ask, chat, when), std::nullopt});
      const std::vector<int64_t>& told = lengths[story];
      const int64_t left = std::accumulate(told.begin() + static_cast<long>(sentence), told.end(), int64_t{0});
      const LevelChooser::Aim aim = chooser.next(out.replies_per_level, told[sentence], left, rng);
      const Band& band = aim.band;
      const int64_t target = band.low + static_cast<int64_t>(rng.next_u64() % static_cast<uint64_t>(band.high - band.low + 1));
      std::string reply;
      int64_t length = 0;
      while (story < stories.size()) {
        if (sentence == stories[story].size()) {
          next_story();
          // Inside the band the story's end is the reply's; below it a long level goes on into
          // the next story.
          if (length >= band.low || !aim.joins_stories) break;
          continue;
        }
        const Sentence& s = stories[story][sentence];
        const int64_t n = lengths[story][sentence];
        if (length >= band.low && length + n > band.high) break;
        if (!reply.empty()) reply += sentence == 0 || s.opens_paragraph ? "\n\n" : " ";
        reply += s.text;
        length += n;
        if (sentence == 0) ++out.stories_used;
        ++sentence;
        if (length >= target) break;
      }
      // A reply that told a story's last sentence ends that story: the listener asks for another.
      if (story < stories.size() && sentence == stories[story].size()) next_story();
      if (reply.empty()) {
        chat.messages.pop_back();
        break;
      }
      const LengthLevel level = rule.level_for(measure(reply));
      ++out.replies_per_level[length_level_index(level)];
      if (level != band.level) ++out.missed;
      chat.messages.push_back({ChatRole::kChar, std::move(reply), level});
    }
    if (chat.messages.size() >= 2) out.conversations.push_back(std::move(chat));
  }
  return out;
}

}  // namespace limarp::train
