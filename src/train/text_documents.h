// The documents of a raw-text dataset file, shared by the dataset types that read prose
// (completion, story_roleplay): a .txt file holds documents separated by lines holding only
// <|endoftext|> (TinyStories' layout; without such lines the file is one document), a .jsonl
// file one record per line and a .json file an array of records, the text in `field`.
//
//   LIMARP_ASSIGN_OR_RETURN(std::vector<std::string> docs, read_documents("stories.txt", "text"));
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace limarp::train {

// Each document trimmed of surrounding whitespace; empty documents are kept (callers count them).
Result<std::vector<std::string>> read_documents(const std::string& file, const std::string& field);

}  // namespace limarp::train
