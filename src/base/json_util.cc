#include "base/json_util.h"

#include <charconv>

#include "base/mapped_file.h"

namespace limarp {
namespace {

// A value quoted in an error: short, and valid UTF-8 even if a string in it is not (dump()
// would throw on one).
std::string excerpt(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace).substr(0, 80); }

}  // namespace

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
  if (!it->is_number_integer()) return make_error("{}: {} must be an integer, got {}", source, key, excerpt(*it));
  return it->get<int64_t>();
}

Result<int64_t> json_int_in(const Json& obj, std::string_view key, std::string_view source, int64_t min, int64_t max) {
  LIMARP_ASSIGN_OR_RETURN(int64_t v, json_int(obj, key, source));
  if (v < min || v > max) return make_error("{}: {} must be between {} and {}, got {}", source, key, min, max, v);
  return v;
}

Result<const Json*> json_array(const Json& obj, std::string_view key, std::string_view source) {
  auto it = obj.find(key);
  if (it == obj.end()) return make_error("{}: missing {}", source, key);
  if (!it->is_array()) return make_error("{}: {} must be an array, got {}", source, key, excerpt(*it));
  return &*it;
}

Result<uint64_t> json_u64_string(const Json& value, std::string_view what) {
  const std::string* s = value.get_ptr<const std::string*>();
  uint64_t v = 0;
  const auto parsed = s ? std::from_chars(s->data(), s->data() + s->size(), v) : std::from_chars_result{};
  if (!s || s->empty() || parsed.ec != std::errc() || parsed.ptr != s->data() + s->size())
    return make_error("{} must be a decimal string of an unsigned 64-bit integer, got {}", what,
                      excerpt(value));
  return v;
}

Result<double> json_number(const Json& obj, std::string_view key, std::string_view source) {
  auto it = obj.find(key);
  if (it == obj.end()) return make_error("{}: missing {}", source, key);
  if (!it->is_number()) return make_error("{}: {} must be a number, got {}", source, key, excerpt(*it));
  return it->get<double>();
}

Result<std::string> json_string(const Json& obj, std::string_view key, std::string_view source) {
  auto it = obj.find(key);
  if (it == obj.end()) return make_error("{}: missing {}", source, key);
  if (!it->is_string()) return make_error("{}: {} must be a string, got {}", source, key, excerpt(*it));
  return it->get<std::string>();
}

Status json_optional_string(const Json& obj, std::string_view key, std::string_view where, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) return make_error("{}{} must be a string, got {}", where, key, excerpt(*it));
  out = it->get<std::string>();
  return {};
}

}  // namespace limarp
