// Reading request bodies the way clients send them: every key optional, several spellings for
// one setting (max_length / max_tokens / n_predict), unknown keys ignored, null meaning
// "absent", and a wrong type answered with an error that names the key.
//
//   RequestFields f(body);
//   LIMARP_TRY(f.integer({"max_tokens", "max_new_tokens", "n_predict"}, max_tokens, -1, 1 << 20));
//   LIMARP_TRY(f.strings({"stop", "stopping_strings"}, stops));   // a string or a list of them
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_util.h"
#include "base/status.h"
#include "tokenizer/tokenizer.h"

namespace limarp::server {

class RequestFields {
 public:
  explicit RequestFields(const Json& body) : body_(body) {}

  // The first key present and not null, or nullptr.
  const Json* find(std::initializer_list<std::string_view> keys, std::string_view* which = nullptr) const;

  Status string(std::initializer_list<std::string_view> keys, std::string& out) const;
  Status boolean(std::initializer_list<std::string_view> keys, bool& out) const;
  // Integers within [min, max]; 12.0 counts as an integer, 12.5 does not.
  Status integer(std::initializer_list<std::string_view> keys, int64_t& out, int64_t min, int64_t max) const;
  // A string or an array of strings (at most max_items, each at most max_bytes).
  Status strings(std::initializer_list<std::string_view> keys, std::vector<std::string>& out,
                 size_t max_items = 64, size_t max_bytes = 1024) const;

 private:
  const Json& body_;
};

// Encoding options for counting a text's own tokens (no BOS).
inline EncodeOptions without_bos() {
  EncodeOptions o;
  o.add_bos = false;
  return o;
}

// Parses a request body as a JSON object, with the size and depth limits; the error names the
// route ("/api/v1/generate: invalid JSON: ...").
Result<Json> parse_body_object(std::string_view body, std::string_view route, JsonLimits limits);

}  // namespace limarp::server
