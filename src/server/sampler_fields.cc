#include "server/sampler_fields.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "base/text_util.h"

namespace limarp::server {
namespace {

// Optional typed fields of a request body.
class BodyReader {
 public:
  BodyReader(const Json& body, std::string_view source) : body_(body), source_(source) {}

  template <typename T>
  Status number(std::initializer_list<std::string_view> keys, T& out) {
    for (auto key : keys) {
      auto it = body_.find(key);
      if (it == body_.end() || it->is_null()) continue;
      if (!it->is_number()) return make_error("{}: {} must be a number, got {}", source_, key, json_brief(*it));
      if constexpr (std::is_integral_v<T>) {
        const double d = it->template get<double>();
        if (d != std::floor(d) || std::fabs(d) > 1e9)
          return make_error("{}: {} must be an integer, got {}", source_, key, json_brief(*it));
        out = static_cast<T>(d);
      } else {
        out = static_cast<T>(it->template get<double>());
      }
      return {};
    }
    return {};
  }

  Status strings(std::string_view key, std::vector<std::string>& out) {
    auto it = body_.find(key);
    if (it == body_.end() || it->is_null()) return {};
    // SillyTavern sends DRY breakers as a JSON-encoded string array inside a string.
    Json arr = *it;
    if (arr.is_string()) {
      auto parsed = parse_json(arr.get<std::string>(), fmt::format("{}: {}", source_, key));
      if (!parsed.ok() || !parsed->is_array()) {
        out = {arr.get<std::string>()};
        return {};
      }
      arr = *parsed;
    }
    if (!arr.is_array()) return make_error("{}: {} must be an array of strings, got {}", source_, key, json_brief(*it));
    std::vector<std::string> v;
    for (size_t i = 0; i < arr.size(); ++i) {
      if (!arr[i].is_string()) return make_error("{}: {}[{}] must be a string, got {}", source_, key, i, json_brief(arr[i]));
      v.push_back(arr[i].get<std::string>());
    }
    out = std::move(v);
    return {};
  }

  // Token ids; KoboldCpp clients also send phrases under this key, which go to `phrases`.
  Status ids(std::string_view key, std::vector<int32_t>& out, std::vector<std::string>& phrases) {
    auto it = body_.find(key);
    if (it == body_.end() || it->is_null()) return {};
    if (!it->is_array()) return make_error("{}: {} must be an array of token ids, got {}", source_, key, json_brief(*it));
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& e = (*it)[i];
      if (e.is_string()) {
        phrases.push_back(e.get<std::string>());
        continue;
      }
      LIMARP_ASSIGN_OR_RETURN(const int32_t id, token_id(e, fmt::format("{}[{}]", key, i)));
      out.push_back(id);
    }
    return {};
  }

  // KoboldCpp's box: ids separated by commas (and spaces) in one string, or a list of ids.
  Status id_list(std::string_view key, std::vector<int32_t>& out) {
    auto it = body_.find(key);
    if (it == body_.end() || it->is_null()) return {};
    std::vector<int32_t> ids;
    if (it->is_array()) {
      for (size_t i = 0; i < it->size(); ++i) {
        LIMARP_ASSIGN_OR_RETURN(const int32_t id, token_id((*it)[i], fmt::format("{}[{}]", key, i)));
        ids.push_back(id);
      }
    } else if (it->is_string()) {
      std::string_view text = it->get_ref<const std::string&>();
      for (size_t i = 0; !trim_whitespace(text).empty(); ++i) {
        const size_t comma = text.find(',');
        const std::string_view item = trim_whitespace(text.substr(0, comma));
        int64_t id = -1;
        auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
        if (ec != std::errc() || p != item.data() + item.size() || id < 0 || id > INT32_MAX)
          return make_error("{}: {} item {} \"{}\" is not a token id", source_, key, i, item);
        ids.push_back(static_cast<int32_t>(id));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
      }
    } else {
      return make_error("{}: {} must be a string of comma-separated token ids or a list of them, got {}", source_, key,
                        json_brief(*it));
    }
    out = std::move(ids);
    return {};
  }

  Status bias(std::string_view key, std::map<int32_t, float>& out) {
    auto it = body_.find(key);
    if (it == body_.end() || it->is_null()) return {};
    if (it->is_object()) {
      // OpenAI and KoboldCpp: {"13": -100}
      for (const auto& [k, v] : it->items()) {
        int32_t id = 0;
        auto [p, ec] = std::from_chars(k.data(), k.data() + k.size(), id);
        if (ec != std::errc() || p != k.data() + k.size())
          return make_error("{}: {} key \"{}\" is not a token id", source_, key, k);
        if (v.is_boolean() && !v.get<bool>()) {
          out[id] = -std::numeric_limits<float>::infinity();  // llama.cpp: false bans
          continue;
        }
        if (!v.is_number()) return make_error("{}: {}[\"{}\"] must be a number, got {}", source_, key, k, json_brief(v));
        out[id] = v.get<float>();
      }
      return {};
    }
    if (it->is_array()) {
      // llama.cpp: [[13, -1.5], [2, false]]
      for (size_t i = 0; i < it->size(); ++i) {
        const Json& e = (*it)[i];
        if (!e.is_array() || e.size() != 2 || !(e[1].is_number() || e[1].is_boolean()))
          return make_error("{}: {}[{}] must be [token id, bias], got {}", source_, key, i, json_brief(e));
        LIMARP_ASSIGN_OR_RETURN(const int32_t id, token_id(e[0], fmt::format("{}[{}][0]", key, i)));
        out[id] = e[1].is_boolean() ? (e[1].get<bool>() ? 0.0f : -std::numeric_limits<float>::infinity()) : e[1].get<float>();
      }
      return {};
    }
    return make_error("{}: {} must be an object of token id -> bias, got {}", source_, key, json_brief(*it));
  }

  const Json& body() const { return body_; }
  std::string_view source() const { return source_; }

 private:
  // A token id as sent, range-checked before it narrows to 32 bits: 4294967297 must not become
  // token 1. Vocabulary bounds are checked later, by check_token_ids.
  Result<int32_t> token_id(const Json& v, std::string_view where) const {
    if (!v.is_number_integer()) return make_error("{}: {} must be a token id, got {}", source_, where, json_brief(v));
    if (v.is_number_unsigned() ? v.get<uint64_t>() > uint64_t{INT32_MAX}
                               : (v.get<int64_t>() < 0 || v.get<int64_t>() > int64_t{INT32_MAX}))
      return make_error("{}: {} = {} is not a token id (ids are 0..{})", source_, where, json_brief(v), INT32_MAX);
    return static_cast<int32_t>(v.get<int64_t>());
  }

 private:
  const Json& body_;
  std::string_view source_;
};

}  // namespace

Status apply_sampler_json(SamplerSettings& s, const Json& body, std::string_view source) {
  if (!body.is_object()) return make_error("{}: expected a JSON object", source);
  BodyReader r(body, source);
  LIMARP_TRY(r.number({"temperature", "temp"}, s.temperature));
  LIMARP_TRY(r.number({"dynatemp_range"}, s.dynatemp_range));
  LIMARP_TRY(r.number({"dynatemp_exponent", "dynatemp_exp"}, s.dynatemp_exponent));
  LIMARP_TRY(r.number({"top_k"}, s.top_k));
  LIMARP_TRY(r.number({"top_p"}, s.top_p));
  LIMARP_TRY(r.number({"min_p"}, s.min_p));
  LIMARP_TRY(r.number({"typical", "typical_p"}, s.typical_p));
  LIMARP_TRY(r.number({"tfs", "tfs_z"}, s.tfs));
  LIMARP_TRY(r.number({"top_a"}, s.top_a));
  LIMARP_TRY(r.number({"rep_pen", "repetition_penalty", "repeat_penalty"}, s.rep_pen));
  LIMARP_TRY(r.number({"rep_pen_range", "repetition_penalty_range", "repeat_last_n"}, s.rep_pen_range));
  LIMARP_TRY(r.number({"rep_pen_slope"}, s.rep_pen_slope));
  LIMARP_TRY(r.number({"presence_penalty"}, s.presence_penalty));
  LIMARP_TRY(r.number({"frequency_penalty"}, s.frequency_penalty));
  LIMARP_TRY(r.number({"dry_multiplier"}, s.dry_multiplier));
  LIMARP_TRY(r.number({"dry_base"}, s.dry_base));
  LIMARP_TRY(r.number({"dry_allowed_length"}, s.dry_allowed_length));
  LIMARP_TRY(r.number({"dry_penalty_last_n", "dry_penalty_range"}, s.dry_penalty_last_n));
  LIMARP_TRY(r.strings("dry_sequence_breakers", s.dry_sequence_breakers));
  LIMARP_TRY(r.number({"xtc_threshold"}, s.xtc_threshold));
  LIMARP_TRY(r.number({"xtc_probability"}, s.xtc_probability));
  LIMARP_TRY(r.number({"mirostat", "mirostat_mode"}, s.mirostat));
  LIMARP_TRY(r.number({"mirostat_tau"}, s.mirostat_tau));
  LIMARP_TRY(r.number({"mirostat_eta"}, s.mirostat_eta));
  LIMARP_TRY(r.bias("logit_bias", s.logit_bias));
  LIMARP_TRY(r.strings("banned_strings", s.banned_strings));
  LIMARP_TRY(r.ids("banned_tokens", s.banned_tokens, s.banned_strings));
  LIMARP_TRY(r.id_list("custom_token_bans", s.custom_token_bans));
  if (auto it = body.find("sampler_order"); it != body.end() && !it->is_null()) {
    LIMARP_ASSIGN_OR_RETURN(s.order, parse_sampler_order(*it, source));
  }
  for (std::string_view key : {"sampler_seed", "seed"}) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_number_integer()) return make_error("{}: {} must be an integer, got {}", source, key, json_brief(*it));
    // -1 is the clients' "random".
    const int64_t v = it->get<int64_t>();
    if (v < 0) s.seed.reset();
    else s.seed = static_cast<uint64_t>(v);
    break;
  }
  return validate(s).with_context(source);
}

}  // namespace limarp::server
