#include "sampling/sampler_settings.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <random>

#include "sampling/grammar_sampler.h"
#include "sampling/logit_bias.h"
#include "sampling/mirostat.h"
#include "sampling/penalties.h"
#include "sampling/temperature.h"
#include "sampling/truncation.h"
#include "sampling/xtc.h"

namespace limarp {
namespace {

struct StageName {
  std::string_view name;
  SamplerStage stage;
};
// The first name of each stage is the canonical one.
constexpr StageName kStageNames[] = {
    {"top_k", SamplerStage::kTopK},
    {"top_a", SamplerStage::kTopA},
    {"top_p", SamplerStage::kTopP},
    {"tfs", SamplerStage::kTfs},
    {"tail_free", SamplerStage::kTfs},
    {"typical", SamplerStage::kTypical},
    {"typical_p", SamplerStage::kTypical},
    {"temperature", SamplerStage::kTemperature},
    {"temp", SamplerStage::kTemperature},
    {"rep_pen", SamplerStage::kRepPen},
    {"repetition_penalty", SamplerStage::kRepPen},
    {"min_p", SamplerStage::kMinP},
    {"presence_frequency", SamplerStage::kPresenceFrequency},
    {"penalties", SamplerStage::kPresenceFrequency},
    {"dry", SamplerStage::kDry},
    {"xtc", SamplerStage::kXtc},
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Result<std::vector<SamplerStage>> check_unique(std::vector<SamplerStage> order) {
  for (size_t i = 0; i < order.size(); ++i)
    for (size_t j = i + 1; j < order.size(); ++j)
      if (order[i] == order[j])
        return make_error("sampler order names {} twice", sampler_stage_name(order[i]));
  return order;
}

bool contains(const std::vector<SamplerStage>& v, SamplerStage s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void insert_after(std::vector<SamplerStage>& v, SamplerStage anchor, SamplerStage s, bool at_front_otherwise) {
  auto it = std::find(v.begin(), v.end(), anchor);
  if (it != v.end()) v.insert(it + 1, s);
  else if (at_front_otherwise) v.insert(v.begin(), s);
  else v.push_back(s);
}

Status check_range(std::string_view name, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi))  // also rejects NaN
    return make_error("{} must be in [{}, {}], got {}", name, lo, hi, value);
  return {};
}

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
      for (size_t i = 0; !trim(text).empty(); ++i) {
        const size_t comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
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

const char* sampler_stage_name(SamplerStage stage) {
  for (const auto& n : kStageNames)
    if (n.stage == stage) return n.name.data();
  return "?";
}

Result<SamplerStage> parse_sampler_stage(std::string_view text) {
  text = trim(text);
  if (text.size() == 1 && text[0] >= '0' && text[0] <= '6') return static_cast<SamplerStage>(text[0] - '0');
  for (const auto& n : kStageNames)
    if (n.name == text) return n.stage;
  return make_error("unknown sampler \"{}\" (expected 0-6 or one of top_k, top_a, top_p, tfs, typical, "
                    "temperature, rep_pen, min_p, presence_frequency, dry, xtc)", text);
}

Result<std::vector<SamplerStage>> parse_sampler_order(std::string_view text) {
  std::vector<SamplerStage> order;
  while (!trim(text).empty()) {
    const size_t comma = text.find(',');
    LIMARP_ASSIGN_OR_RETURN(SamplerStage s, parse_sampler_stage(text.substr(0, comma)));
    order.push_back(s);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return check_unique(std::move(order));
}

Result<std::vector<SamplerStage>> parse_sampler_order(const Json& array, std::string_view source) {
  if (!array.is_array()) return make_error("{}: sampler_order must be an array, got {}", source, json_brief(array));
  std::vector<SamplerStage> order;
  for (size_t i = 0; i < array.size(); ++i) {
    const Json& e = array[i];
    if (e.is_number_integer()) {
      const int64_t v = e.get<int64_t>();
      if (v < 0 || v > 6) return make_error("{}: sampler_order[{}] = {} is not a KoboldCpp sampler (0-6)", source, i, v);
      order.push_back(static_cast<SamplerStage>(v));
    } else if (e.is_string()) {
      auto s = parse_sampler_stage(e.get<std::string>());
      if (!s.ok()) return s.error().with_context(fmt::format("{}: sampler_order[{}]", source, i));
      order.push_back(*s);
    } else {
      return make_error("{}: sampler_order[{}] must be a number or a name, got {}", source, i, json_brief(e));
    }
  }
  auto r = check_unique(std::move(order));
  if (!r.ok()) return r.error().with_context(source);
  return r;
}

std::vector<SamplerStage> default_sampler_order() {
  using S = SamplerStage;
  return {S::kRepPen, S::kTopK, S::kTopA, S::kTfs, S::kTypical, S::kTopP, S::kTemperature};
}

Status validate(const SamplerSettings& s) {
  constexpr double kBig = 1e9;
  LIMARP_TRY(check_range("temperature", s.temperature, 0, kBig));
  LIMARP_TRY(check_range("dynatemp_range", s.dynatemp_range, 0, kBig));
  LIMARP_TRY(check_range("dynatemp_exponent", s.dynatemp_exponent, 0, kBig));
  LIMARP_TRY(check_range("top_k", s.top_k, 0, kBig));
  LIMARP_TRY(check_range("top_p", s.top_p, 0, 1));
  LIMARP_TRY(check_range("min_p", s.min_p, 0, 1));
  LIMARP_TRY(check_range("typical_p", s.typical_p, 0, 1));
  LIMARP_TRY(check_range("tfs", s.tfs, 0, 1));
  LIMARP_TRY(check_range("top_a", s.top_a, 0, kBig));
  if (!(s.rep_pen > 0 && s.rep_pen <= kBig)) return make_error("rep_pen must be > 0, got {}", s.rep_pen);
  LIMARP_TRY(check_range("rep_pen_range", s.rep_pen_range, -1, kBig));
  LIMARP_TRY(check_range("rep_pen_slope", s.rep_pen_slope, -kBig, kBig));
  LIMARP_TRY(check_range("presence_penalty", s.presence_penalty, -kBig, kBig));
  LIMARP_TRY(check_range("frequency_penalty", s.frequency_penalty, -kBig, kBig));
  LIMARP_TRY(check_range("dry_multiplier", s.dry_multiplier, 0, kBig));
  if (!(s.dry_base > 0 && s.dry_base <= kBig)) return make_error("dry_base must be > 0, got {}", s.dry_base);
  LIMARP_TRY(check_range("dry_allowed_length", s.dry_allowed_length, 0, kBig));
  LIMARP_TRY(check_range("dry_penalty_last_n", s.dry_penalty_last_n, -1, kBig));
  LIMARP_TRY(check_range("xtc_threshold", s.xtc_threshold, 0, 1));
  LIMARP_TRY(check_range("xtc_probability", s.xtc_probability, 0, 1));
  if (s.mirostat < 0 || s.mirostat > 2) return make_error("mirostat must be 0, 1 or 2, got {}", s.mirostat);
  LIMARP_TRY(check_range("mirostat_tau", s.mirostat_tau, 0, kBig));
  LIMARP_TRY(check_range("mirostat_eta", s.mirostat_eta, 0, kBig));
  for (const auto& [id, b] : s.logit_bias)
    if (std::isnan(b)) return make_error("logit_bias for token {} is NaN", id);
  LIMARP_TRY(check_unique(s.order).status().with_context("order"));
  return {};
}

Status check_token_ids(const SamplerSettings& s, int64_t vocab_size) {
  auto outside = [&](int32_t id) { return id < 0 || id >= vocab_size; };
  for (const auto& [id, b] : s.logit_bias)
    if (outside(id)) return make_error("logit_bias names token {}, outside the vocabulary (0..{})", id, vocab_size - 1);
  for (int32_t id : s.banned_tokens)
    if (outside(id)) return make_error("banned_tokens names token {}, outside the vocabulary (0..{})", id, vocab_size - 1);
  for (int32_t id : s.custom_token_bans)
    if (outside(id))
      return make_error("custom_token_bans names token {}, outside the vocabulary (0..{})", id, vocab_size - 1);
  return {};
}

std::vector<SamplerStage> resolve_sampler_order(const SamplerSettings& s) {
  using S = SamplerStage;
  if (s.mirostat != 0) return {S::kDry, S::kRepPen, S::kPresenceFrequency, S::kTemperature};
  std::vector<SamplerStage> order = s.order;
  if (!contains(order, S::kDry)) order.insert(order.begin(), S::kDry);
  if (!contains(order, S::kPresenceFrequency)) {
    if (contains(order, S::kRepPen)) insert_after(order, S::kRepPen, S::kPresenceFrequency, false);
    else insert_after(order, S::kDry, S::kPresenceFrequency, true);
  }
  if (!contains(order, S::kMinP)) insert_after(order, S::kTopP, S::kMinP, false);
  if (!contains(order, S::kXtc)) order.push_back(S::kXtc);
  return order;
}

Result<SamplerChain> build_chain(const SamplerSettings& s, const ChainOptions& options) {
  LIMARP_TRY(validate(s));
  const bool greedy = s.temperature <= 0;
  SamplerChain chain;
  if (greedy) chain.set_draw_mode(DrawMode::kGreedy);
  if (!s.logit_bias.empty()) chain.add(make_logit_bias(s.logit_bias));
  if (!s.banned_tokens.empty() || !s.custom_token_bans.empty()) {
    std::vector<int32_t> banned = s.banned_tokens;
    banned.insert(banned.end(), s.custom_token_bans.begin(), s.custom_token_bans.end());
    chain.add(make_banned_tokens(std::move(banned)));
  }
  if (s.grammar) {
    if (!options.token_texts) return make_error("a grammar needs the tokenizer's token texts (ChainOptions::token_texts)");
    std::shared_ptr<const TokenTrie> trie = options.token_trie;
    if (!trie) trie = std::make_shared<const TokenTrie>(*options.token_texts);
    chain.add(std::make_unique<GrammarSampler>(s.grammar, std::move(trie), options.token_texts, options.eos));
  }
  for (SamplerStage stage : resolve_sampler_order(s)) {
    switch (stage) {
      case SamplerStage::kDry: {
        if (s.dry_multiplier <= 0) break;
        bool has_breakers = false;
        for (const auto& b : s.dry_sequence_breakers) has_breakers |= !b.empty();
        if (has_breakers && !options.token_texts)
          return make_error("DRY sequence breakers need the tokenizer's token texts (ChainOptions::token_texts)");
        chain.add(make_dry({.multiplier = s.dry_multiplier,
                            .base = s.dry_base,
                            .allowed_length = s.dry_allowed_length,
                            .penalty_last_n = s.dry_penalty_last_n,
                            .sequence_breakers = s.dry_sequence_breakers},
                           options.token_texts));
        break;
      }
      case SamplerStage::kRepPen:
        if (s.rep_pen != 1.0f && s.rep_pen_range != 0)
          chain.add(make_repetition_penalty({.penalty = s.rep_pen, .range = s.rep_pen_range, .slope = s.rep_pen_slope}));
        break;
      case SamplerStage::kPresenceFrequency:
        if ((s.presence_penalty != 0 || s.frequency_penalty != 0) && s.rep_pen_range != 0)
          chain.add(make_presence_frequency_penalty(
              {.presence = s.presence_penalty, .frequency = s.frequency_penalty, .range = s.rep_pen_range}));
        break;
      case SamplerStage::kTopK:
        if (!greedy && s.top_k > 0) chain.add(make_top_k(s.top_k));
        break;
      case SamplerStage::kTopA:
        if (!greedy && s.top_a > 0) chain.add(make_top_a(s.top_a));
        break;
      case SamplerStage::kTopP:
        if (!greedy && s.top_p < 1) chain.add(make_top_p(s.top_p));
        break;
      case SamplerStage::kMinP:
        if (!greedy && s.min_p > 0) chain.add(make_min_p(s.min_p));
        break;
      case SamplerStage::kTfs:
        if (!greedy && s.tfs < 1) chain.add(make_tail_free(s.tfs));
        break;
      case SamplerStage::kTypical:
        if (!greedy && s.typical_p < 1) chain.add(make_typical(s.typical_p));
        break;
      case SamplerStage::kTemperature:
        if (greedy) break;
        if (s.dynatemp_range > 0 && s.mirostat == 0)
          chain.add(make_dynamic_temperature(
              {.temperature = s.temperature, .range = s.dynatemp_range, .exponent = s.dynatemp_exponent}));
        else if (s.temperature != 1.0f)
          chain.add(make_temperature(s.temperature));
        break;
      case SamplerStage::kXtc:
        if (!greedy && s.xtc_probability > 0 && s.xtc_threshold <= 0.5f)
          chain.add(make_xtc({.threshold = s.xtc_threshold, .probability = s.xtc_probability}));
        break;
    }
  }
  if (!greedy && s.mirostat != 0)
    chain.add(make_mirostat({.version = s.mirostat, .tau = s.mirostat_tau, .eta = s.mirostat_eta}));
  return chain;
}

Rng make_sampler_rng(const SamplerSettings& s) {
  if (s.seed) return Rng(*s.seed);
  std::random_device rd;
  return Rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
}

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

}  // namespace limarp
