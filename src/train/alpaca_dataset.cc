// The alpaca dataset type (train/dataset.h): instruction records in the Stanford Alpaca
// prompt, the response trained.
#include <fstream>
#include <sstream>

#include "base/json_util.h"
#include "train/dataset.h"

namespace limarp::train {
namespace {

constexpr const char* kWithInput =
    "Below is an instruction that describes a task, paired with an input that provides further context. Write a "
    "response that appropriately completes the request.\n\n### Instruction:\n{}\n\n### Input:\n{}\n\n### Response:\n";
constexpr const char* kWithoutInput =
    "Below is an instruction that describes a task. Write a response that appropriately completes the "
    "request.\n\n### Instruction:\n{}\n\n### Response:\n";

Result<std::string> string_field(const Json& j, const char* key, const std::string& where, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return make_error("{}: missing \"{}\"", where, key);
    return std::string();
  }
  if (!it->is_string()) return make_error("{}: \"{}\" must be a string", where, key);
  return it->get<std::string>();
}

}  // namespace

Result<std::vector<Sample>> load_alpaca(const DatasetSpec& spec, const TrainConfig& config, const Tokenizer& tok,
                                        DatasetReport& report) {
  LIMARP_ASSIGN_OR_RETURN(std::vector<std::string> files, dataset_files(spec.path, {".jsonl", ".json"}));
  std::vector<Sample> samples;
  for (const auto& file : files) {
    ++report.files;
    std::ifstream in(file, std::ios::binary);
    if (!in) return make_error("cannot open dataset file {}", file);
    std::vector<std::pair<Json, std::string>> records;
    if (file.ends_with(".json")) {
      std::stringstream ss;
      ss << in.rdbuf();
      LIMARP_ASSIGN_OR_RETURN(Json all, parse_json(ss.str(), file));
      if (!all.is_array()) return make_error("{}: expected a JSON array of records", file);
      for (size_t i = 0; i < all.size(); ++i) records.emplace_back(all[i], fmt::format("{}[{}]", file, i));
    } else {
      std::string line;
      for (int64_t n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = fmt::format("{}:{}", file, n);
        LIMARP_ASSIGN_OR_RETURN(Json j, parse_json(line, where));
        records.emplace_back(std::move(j), where);
      }
    }
    for (const auto& [j, where] : records) {
      if (!j.is_object()) return make_error("{}: not a JSON object", where);
      ++report.records;
      LIMARP_ASSIGN_OR_RETURN(std::string instruction, string_field(j, "instruction", where, true));
      LIMARP_ASSIGN_OR_RETURN(std::string input, string_field(j, "input", where, false));
      LIMARP_ASSIGN_OR_RETURN(std::string output, string_field(j, "output", where, true));
      const std::string prompt = input.empty() ? fmt::format(fmt::runtime(kWithoutInput), instruction)
                                               : fmt::format(fmt::runtime(kWithInput), instruction, input);
      const std::vector<TrainingSegment> segments = {{.text = prompt, .trained = config.train_on_inputs},
                                                     {.text = output, .trained = true}};
      Sample s = tokenize_segments(segments, tok, {.append = true, .trained = true});
      s.origin = where;
      if (s.size() > config.sequence_len) {
        ++report.dropped_too_long;
        continue;
      }
      report.add(s);
      samples.push_back(std::move(s));
    }
  }
  return samples;
}

}  // namespace limarp::train
