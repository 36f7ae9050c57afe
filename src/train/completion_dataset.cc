// The completion dataset type (train/dataset.h): raw text for unsupervised fine-tuning, as in
// the card's first pass over stories.
#include <fstream>
#include <sstream>

#include "base/json_util.h"
#include "train/dataset.h"

namespace limarp::train {
namespace {

constexpr const char* kDocumentSeparator = "<|endoftext|>";

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot open dataset file {}", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Plain text: documents separated by lines holding only <|endoftext|> (TinyStories' layout);
// without such lines the whole file is one document.
std::vector<std::string> text_documents(const std::string& text) {
  std::vector<std::string> docs;
  std::string current;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    if (trim(line) == kDocumentSeparator) {
      docs.push_back(trim(current));
      current.clear();
    } else {
      current.append(line);
      current.push_back('\n');
    }
    pos = end + 1;
  }
  docs.push_back(trim(current));
  return docs;
}

Result<std::vector<std::string>> json_documents(const std::string& text, const std::string& path,
                                                const std::string& field) {
  std::vector<std::string> docs;
  auto take = [&](const Json& record, const std::string& where) -> Status {
    if (!record.is_object()) return make_error("{}: not a JSON object", where);
    auto it = record.find(field);
    if (it == record.end() || !it->is_string())
      return make_error("{}: no string field \"{}\" (set the dataset's field)", where, field);
    docs.push_back(it->get<std::string>());
    return {};
  };
  if (path.ends_with(".json")) {
    LIMARP_ASSIGN_OR_RETURN(Json all, parse_json(text, path));
    if (!all.is_array()) return make_error("{}: expected a JSON array of records", path);
    for (size_t i = 0; i < all.size(); ++i) LIMARP_TRY(take(all[i], fmt::format("{}[{}]", path, i)));
    return docs;
  }
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (trim(line).empty()) continue;
    const std::string where = fmt::format("{}:{}", path, line_no);
    LIMARP_ASSIGN_OR_RETURN(Json record, parse_json(line, where));
    LIMARP_TRY(take(record, where));
  }
  return docs;
}

}  // namespace

Result<std::vector<Sample>> load_completion(const DatasetSpec& spec, const TrainConfig& config, const Tokenizer& tok,
                                            DatasetReport& report) {
  LIMARP_ASSIGN_OR_RETURN(std::vector<std::string> files, dataset_files(spec.path, {".txt", ".jsonl", ".json"}));
  std::vector<Sample> samples;
  for (const auto& file : files) {
    ++report.files;
    LIMARP_ASSIGN_OR_RETURN(std::string text, read_text(file));
    std::vector<std::string> docs;
    if (file.ends_with(".txt")) {
      docs = text_documents(text);
    } else {
      LIMARP_ASSIGN_OR_RETURN(docs, json_documents(text, file, spec.field));
    }
    for (size_t d = 0; d < docs.size(); ++d) {
      if (docs[d].empty()) continue;
      ++report.records;
      // BOS + text + EOS, then consecutive chunks of sequence_len tokens (Axolotl's completion).
      std::vector<int32_t> ids = tok.encode(docs[d], {.add_bos = true, .add_eos = true, .parse_special = false});
      for (size_t start = 0; start < ids.size(); start += static_cast<size_t>(config.sequence_len)) {
        const size_t end = std::min(ids.size(), start + static_cast<size_t>(config.sequence_len));
        if (end - start < 2) {  // nothing to predict
          ++report.dropped_empty;
          continue;
        }
        Sample s;
        s.tokens.assign(ids.begin() + static_cast<std::ptrdiff_t>(start), ids.begin() + static_cast<std::ptrdiff_t>(end));
        s.trained.assign(s.tokens.size(), 1);
        s.trained[0] = 0;  // the first token of a chunk has no context to be predicted from
        s.origin = fmt::format("{}:doc{}", file, d + 1);
        report.add(s);
        samples.push_back(std::move(s));
      }
    }
  }
  return samples;
}

}  // namespace limarp::train
