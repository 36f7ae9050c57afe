#include "sampling/sampler_settings.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "base/text_util.h"
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

}  // namespace

const char* sampler_stage_name(SamplerStage stage) {
  for (const auto& n : kStageNames)
    if (n.stage == stage) return n.name.data();
  return "?";
}

Result<SamplerStage> parse_sampler_stage(std::string_view text) {
  text = trim_whitespace(text);
  if (text.size() == 1 && text[0] >= '0' && text[0] <= '6') return static_cast<SamplerStage>(text[0] - '0');
  for (const auto& n : kStageNames)
    if (n.name == text) return n.stage;
  return make_error("unknown sampler \"{}\" (expected 0-6 or one of top_k, top_a, top_p, tfs, typical, "
                    "temperature, rep_pen, min_p, presence_frequency, dry, xtc)", text);
}

Result<std::vector<SamplerStage>> parse_sampler_order(std::string_view text) {
  std::vector<SamplerStage> order;
  while (!trim_whitespace(text).empty()) {
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

}  // namespace limarp
