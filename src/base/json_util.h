// JSON parsing of untrusted text with limits: a size cap, a nesting-depth cap, and errors
// returned as values naming the source instead of exceptions escaping.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "base/status.h"

namespace limarp {

using Json = nlohmann::json;

// A value for an error message: compact JSON cut to 80 bytes, invalid UTF-8 as U+FFFD (dumping
// never throws).
std::string json_brief(const Json& value);

struct JsonLimits {
  size_t max_bytes = size_t{256} << 20;
  int max_depth = 64;
};

Result<Json> parse_json(std::string_view text, std::string_view source, JsonLimits limits = {});
Result<Json> read_json_file(const std::string& path, JsonLimits limits = {});

// Typed field access with errors naming the field: "config.json: hidden_size must be an integer".
Result<int64_t> json_int(const Json& obj, std::string_view key, std::string_view source);
Result<double> json_number(const Json& obj, std::string_view key, std::string_view source);
Result<std::string> json_string(const Json& obj, std::string_view key, std::string_view source);
// An integer field within [min, max]: "state.json: step must be between 0 and 9007199254740992, got -1".
Result<int64_t> json_int_in(const Json& obj, std::string_view key, std::string_view source, int64_t min, int64_t max);
// An array field, by reference into `obj`.
Result<const Json*> json_array(const Json& obj, std::string_view key, std::string_view source);
// A u64 written as a decimal string (JSON numbers are doubles for most readers); `what` names
// it in errors ("state.json: rng[2] ...").
Result<uint64_t> json_u64_string(const Json& value, std::string_view what);
// An optional string field: absent or null leaves `out` as it is; another type is an error
// "<where><key> must be a string, got ..." (`where` ends with its own separator, like "card: ").
Status json_optional_string(const Json& obj, std::string_view key, std::string_view where, std::string& out);

}  // namespace limarp
