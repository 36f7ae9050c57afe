#include "train/dataset.h"

#include <algorithm>
#include <filesystem>

#include "base/log.h"
#include "base/mapped_file.h"

namespace fs = std::filesystem;

namespace limarp::train {

int64_t Sample::trained_count() const { return std::count(trained.begin(), trained.end(), uint8_t{1}); }

void DatasetReport::add(const Sample& s) {
  ++samples;
  tokens += s.size();
  trained_tokens += s.trained_count();
}

Result<std::vector<std::string>> dataset_files(const std::string& path, const std::vector<std::string>& extensions) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    LIMARP_TRY(check_regular_file(path));
    return std::vector<std::string>{path};
  }
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string ext = it->path().extension().string();
    if (std::find(extensions.begin(), extensions.end(), ext) != extensions.end()) files.push_back(it->path().string());
  }
  if (ec) return make_error("cannot list dataset folder {}: {}", path, ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty())
    return make_error("dataset folder {} holds no {} files", path, fmt::join(extensions, " / "));
  return files;
}

Sample tokenize_segments(const std::vector<TrainingSegment>& segments, const Tokenizer& tok, EosOptions eos) {
  std::string full;
  std::vector<size_t> ends;  // end offset of each segment in `full`
  for (const auto& s : segments) {
    full += s.text;
    ends.push_back(full.size());
  }
  Sample out;
  out.tokens = tok.encode(full, {.add_bos = true, .add_eos = false, .parse_special = false});
  out.trained.assign(out.tokens.size(), 0);
  std::vector<size_t> starts(out.tokens.size());
  size_t total = 0;
  for (size_t i = 0; i < out.tokens.size(); ++i) {
    starts[i] = total;
    total += tok.token_bytes(out.tokens[i]).size();
  }
  // SentencePiece prepends one space (the dummy prefix): token bytes cover " " + text.
  const size_t prefix = total - std::min(total, full.size());
  if (prefix <= 1 && total == full.size() + prefix) {
    std::vector<size_t> turn_end_starts;  // byte offset of each turn_end segment
    for (size_t k = 0; k < segments.size(); ++k)
      if (segments[k].turn_end && !segments[k].text.empty()) turn_end_starts.push_back(k ? ends[k - 1] : 0);
    // Go-on bytes with the ordinal of their reply's turn end (turn_end_starts.size(): the EOS).
    std::vector<std::pair<size_t, size_t>> go_on_bytes;
    for (size_t k = 0, ordinal = 0; k < segments.size(); ++k) {
      if (segments[k].turn_end && !segments[k].text.empty()) ++ordinal;
      const bool ends_turn = k + 1 < segments.size() ? segments[k + 1].turn_end && !segments[k + 1].text.empty()
                                                     : eos.append && eos.trained;
      if (!segments[k].reply || !ends_turn) continue;
      for (size_t b : segments[k].go_ons)
        if (b < segments[k].text.size()) go_on_bytes.emplace_back((k ? ends[k - 1] : 0) + b, ordinal);
    }
    std::vector<std::pair<int64_t, size_t>> go_on_tokens;
    size_t next_turn_end = 0, next_go_on = 0;
    // Marks token i for every listed byte offset in [first, last); offsets are increasing.
    auto holds = [](size_t& next, size_t count, auto offset_of, size_t first, size_t last, auto mark) {
      for (; next < count && offset_of(next) < last; ++next)
        if (offset_of(next) >= first) mark(next);
    };
    for (size_t i = 0; i < out.tokens.size(); ++i) {
      if (tok.is_control(out.tokens[i])) continue;
      const size_t first = starts[i] >= prefix ? starts[i] - prefix : 0;
      const size_t seg = static_cast<size_t>(std::upper_bound(ends.begin(), ends.end(), first) - ends.begin());
      out.trained[i] = seg < segments.size() && segments[seg].trained;
      // The token holding a turn end's first byte decides the turn ends (it may begin inside
      // the reply when the tokenizer merges the reply's last characters with the line break).
      const size_t end = starts[i] + tok.token_bytes(out.tokens[i]).size();
      const size_t last = end >= prefix ? end - prefix : 0;  // one past the token's last byte
      const auto index = static_cast<int64_t>(i);
      holds(next_turn_end, turn_end_starts.size(), [&](size_t n) { return turn_end_starts[n]; }, first, last,
            [&](size_t) { out.turn_ends.push_back(index); });
      holds(next_go_on, go_on_bytes.size(), [&](size_t n) { return go_on_bytes[n].first; }, first, last,
            [&](size_t n) { go_on_tokens.emplace_back(index, go_on_bytes[n].second); });
    }
    const bool eos_end = eos.append && eos.trained;
    for (auto [token, ordinal] : go_on_tokens) {
      if (ordinal < turn_end_starts.size() && out.turn_ends.size() == turn_end_starts.size())
        out.go_ons.push_back({token, out.turn_ends[ordinal]});
      else if (ordinal == turn_end_starts.size() && eos_end)
        out.go_ons.push_back({token, static_cast<int64_t>(out.tokens.size())});  // the EOS appended below
    }
  } else {
    // The tokenizer normalised the text (bytes do not line up): tokenize segment by segment.
    log::debug("token bytes do not cover the text ({} vs {}); tokenizing segments separately", total, full.size());
    out.tokens.assign(1, tok.bos());
    out.trained.assign(1, 0);
    for (const auto& s : segments) {
      const auto ids = tok.encode(s.text, {.add_bos = false, .add_eos = false, .parse_special = false});
      if (s.turn_end && !ids.empty()) out.turn_ends.push_back(static_cast<int64_t>(out.tokens.size()));
      out.tokens.insert(out.tokens.end(), ids.begin(), ids.end());
      out.trained.insert(out.trained.end(), ids.size(), s.trained ? 1 : 0);
    }
  }
  if (eos.append) {
    if (eos.trained) out.turn_ends.push_back(static_cast<int64_t>(out.tokens.size()));
    out.tokens.push_back(tok.eos());
    out.trained.push_back(eos.trained ? 1 : 0);
  }
  return out;
}

void mark_stop_choices(Sample& s, float weight, int32_t eos) {
  s.choice.assign(s.tokens.size(), StopChoice{});
  const auto n = static_cast<int64_t>(s.tokens.size());
  auto token = [&](int64_t i) { return s.tokens[static_cast<size_t>(i)]; };
  // Token `at` decides against the stop spelled by token `stop_at` (itself, for a stop).
  auto mark = [&](int64_t at, int64_t stop_at) { s.choice[static_cast<size_t>(at)] = {token(stop_at), weight}; };
  for (int64_t e : s.turn_ends)
    if (e < n) mark(e, e);
  for (const Sample::GoOn& g : s.go_ons) {
    // Follow the reply while it spells its turn end's tokens (a paragraph's line breaks).
    int64_t k = 0;
    while (g.token + k < g.turn_end && g.turn_end + k < n && token(g.turn_end + k) != eos &&
           token(g.token + k) == token(g.turn_end + k))
      ++k;
    const int64_t at = g.token + k, stop_at = g.turn_end + k;
    if (at >= g.turn_end || stop_at >= n || token(at) == token(stop_at)) continue;
    mark(at, stop_at);
    mark(stop_at, stop_at);  // the turn end decides at the same depth
  }
}

Result<std::vector<Sample>> load_dataset(const DatasetSpec& spec, const TrainConfig& config, const Tokenizer& tok,
                                         DatasetReport& report) {
  switch (spec.type) {
    case DatasetType::kCompletion: return load_completion(spec, config, tok, report);
    case DatasetType::kLimarp: return load_limarp(spec, config, tok, report);
    case DatasetType::kAlpaca: return load_alpaca(spec, config, tok, report);
    case DatasetType::kStoryRoleplay: return load_story_roleplay(spec, config, tok, report);
  }
  return make_error("unknown dataset type");
}

Result<std::vector<Sample>> load_datasets(const TrainConfig& config, const Tokenizer& tok,
                                          std::vector<DatasetReport>& reports) {
  std::vector<Sample> all;
  reports.clear();
  for (const auto& spec : config.datasets) {
    DatasetReport report;
    auto samples = load_dataset(spec, config, tok, report);
    if (!samples.ok()) return std::move(samples).with_context(fmt::format("dataset {}", spec.path));
    for (auto& s : *samples) all.push_back(std::move(s));
    reports.push_back(report);
  }
  return all;
}

std::string render_with_mask(const Sample& s, const Tokenizer& tok) {
  std::string out;
  bool open = false, first_text = true;
  for (int64_t i = 0; i < s.size(); ++i) {
    const int32_t id = s.tokens[static_cast<size_t>(i)];
    const bool trained = s.trained[static_cast<size_t>(i)] != 0;
    if (trained != open) {
      out += trained ? "«" : "»";
      open = trained;
    }
    if (id == tok.bos()) {
      out += "<s>";
    } else if (id == tok.eos()) {
      out += "</s>";
    } else {
      std::string bytes = tok.token_bytes(id);
      // The dummy-prefix space of the first piece is not part of the text.
      if (first_text && bytes.starts_with(' ')) bytes.erase(0, 1);
      first_text = false;
      out += bytes;
    }
  }
  if (open) out += "»";
  return sanitize_utf8(out);
}

}  // namespace limarp::train
