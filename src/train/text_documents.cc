#include "train/text_documents.h"

#include <fstream>
#include <sstream>

#include "base/json_util.h"

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

Result<std::vector<std::string>> read_documents(const std::string& file, const std::string& field) {
  LIMARP_ASSIGN_OR_RETURN(std::string text, read_text(file));
  if (file.ends_with(".txt")) return text_documents(text);
  return json_documents(text, file, field);
}

}  // namespace limarp::train
