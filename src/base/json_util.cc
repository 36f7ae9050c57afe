#include "base/json_util.h"

#include "base/mapped_file.h"

namespace limarp {

Result<Json> parse_json(std::string_view text, std::string_view source, JsonLimits limits) {
  if (text.size() > limits.max_bytes)
    return make_error("{}: JSON of {} bytes exceeds the {}-byte limit", source, text.size(), limits.max_bytes);
  // Depth is checked on the raw text first: cheap, and it bounds the parser's own stack.
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > limits.max_depth)
        return make_error("{}: JSON nested deeper than {} levels", source, limits.max_depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    return make_error("{}: invalid JSON: {}", source, e.what());
  }
}

std::string json_brief(const Json& v) {
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 80) {
    // Cut at a character boundary so the message stays valid UTF-8.
    size_t cut = 77;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "...";
  }
  return s;
}

Result<Json> read_json_file(const std::string& path, JsonLimits limits) {
  LIMARP_ASSIGN_OR_RETURN(std::string text, read_text_file(path, limits.max_bytes));
  return parse_json(text, path, limits);
}

Result<int64_t> json_int(const Json& obj, std::string_view key, std::string_view source) {
  auto it = obj.find(key);
  if (it == obj.end()) return make_error("{}: missing {}", source, key);
  if (!it->is_number_integer()) return make_error("{}: {} must be an integer, got {}", source, key, it->dump());
  return it->get<int64_t>();
}

Result<double> json_number(const Json& obj, std::string_view key, std::string_view source) {
  auto it = obj.find(key);
  if (it == obj.end()) return make_error("{}: missing {}", source, key);
  if (!it->is_number()) return make_error("{}: {} must be a number, got {}", source, key, it->dump());
  return it->get<double>();
}

Result<std::string> json_string(const Json& obj, std::string_view key, std::string_view source) {
  auto it = obj.find(key);
  if (it == obj.end()) return make_error("{}: missing {}", source, key);
  if (!it->is_string()) return make_error("{}: {} must be a string, got {}", source, key, it->dump());
  return it->get<std::string>();
}

Status json_optional_string(const Json& obj, std::string_view key, std::string_view where, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) return make_error("{}{} must be a string, got {}", where, key, it->dump().substr(0, 80));
  out = it->get<std::string>();
  return {};
}

}  // namespace limarp
