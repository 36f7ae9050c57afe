// The completion dataset type (train/dataset.h): raw text for unsupervised fine-tuning, as in
// the card's first pass over stories.
#include "train/dataset.h"
#include "train/text_documents.h"

namespace limarp::train {

Result<std::vector<Sample>> load_completion(const DatasetSpec& spec, const TrainConfig& config, const Tokenizer& tok,
                                            DatasetReport& report) {
  LIMARP_ASSIGN_OR_RETURN(std::vector<std::string> files, dataset_files(spec.path, {".txt", ".jsonl", ".json"}));
  std::vector<Sample> samples;
  for (const auto& file : files) {
    ++report.files;
    LIMARP_ASSIGN_OR_RETURN(std::vector<std::string> docs, read_documents(file, spec.field));
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
