#include "formats/hf_rope_scaling.h"

#include <cmath>

namespace limarp {

namespace {
constexpr const char* kTypeKey = "limarp.rope.scaling.type";
constexpr const char* kFactorKey = "llama.rope.scaling.factor";
constexpr const char* kOrigKey = "llama.rope.scaling.original_context_length";

// YaRN's default attention factor, which Hugging Face's attention_factor replaces outright
// and llama.cpp's yarn_attn_factor multiplies.
double yarn_magnitude(double factor) { return factor > 1 ? 0.1 * std::log(factor) + 1.0 : 1.0; }
}  // namespace

Status hf_rope_scaling_to_metadata(const Json& config, const std::string& source, Metadata& m) {
  auto it = config.find("rope_scaling");
  if (it == config.end() || it->is_null()) return {};
  const Json& rs = *it;
  const std::string where = source + ": rope_scaling";
  if (!rs.is_object()) return make_error("{} must be an object or null, not {}", where, rs.dump());
  std::string type;
  for (const char* key : {"rope_type", "type"})
    if (auto t = rs.find(key); t != rs.end() && t->is_string()) type = t->get<std::string>();
  if (type.empty()) return make_error("{} has no rope_type (or type)", where);
  if (type == "default") return {};
  if (type != "linear" && type != "dynamic" && type != "yarn" && type != "llama3")
    return make_error("{}: type \"{}\" is not supported (linear, dynamic, yarn, llama3)", where, type);
  for (const char* key : {"mscale", "mscale_all_dim", "short_factor", "long_factor"})
    if (rs.contains(key) && !rs[key].is_null())
      return make_error("{}: {} is not supported (a {} variant limarp does not implement)", where, key, type);
  LIMARP_ASSIGN_OR_RETURN(double factor, json_number(rs, "factor", where));
  if (!(factor > 0 && factor <= 1024)) return make_error("{}: factor {} is out of range (0..1024]", where, factor);
  m.set(kTypeKey, MetaValue::str(type));
  m.set(kFactorKey, MetaValue::f32(static_cast<float>(factor)));
  if (rs.contains("original_max_position_embeddings") && !rs["original_max_position_embeddings"].is_null()) {
    LIMARP_ASSIGN_OR_RETURN(int64_t orig, json_int(rs, "original_max_position_embeddings", where));
    if (orig <= 0 || orig > (int64_t{1} << 31)) return make_error("{}: original_max_position_embeddings {} is out of range", where, orig);
    m.set(kOrigKey, MetaValue::u32(static_cast<uint32_t>(orig)));
  }
  auto number = [&](const char* hf_key, const char* meta_key, double scale) -> Status {
    if (!rs.contains(hf_key) || rs[hf_key].is_null()) return {};
    LIMARP_ASSIGN_OR_RETURN(double v, json_number(rs, hf_key, where));
    m.set(meta_key, MetaValue::f32(static_cast<float>(v / scale)));
    return {};
  };
  LIMARP_TRY(number("beta_fast", "llama.rope.scaling.yarn_beta_fast", 1));
  LIMARP_TRY(number("beta_slow", "llama.rope.scaling.yarn_beta_slow", 1));
  LIMARP_TRY(number("attention_factor", "llama.rope.scaling.yarn_attn_factor", yarn_magnitude(factor)));
  LIMARP_TRY(number("low_freq_factor", "limarp.rope.scaling.low_freq_factor", 1));
  LIMARP_TRY(number("high_freq_factor", "limarp.rope.scaling.high_freq_factor", 1));
  return {};
}

void hf_rope_scaling_from_metadata(const Metadata& m, Json& config) {
  config["rope_scaling"] = nullptr;
  std::string type = m.get_string(kTypeKey).value_or(m.get_string("llama.rope.scaling.type").value_or("none"));
  if (type == "none") return;
  const double factor = m.get_double(kFactorKey).value_or(1.0);
  if (type == "ntk") {
    const double d = static_cast<double>(m.get_int("llama.rope.dimension_count").value_or(128));
    config["rope_theta"] = config["rope_theta"].get<double>() * std::pow(factor, d / (d - 2));
    return;
  }
  Json rs = {{"rope_type", type}, {"type", type}, {"factor", factor}};
  if (auto orig = m.get_int(kOrigKey)) rs["original_max_position_embeddings"] = *orig;
  if (type == "yarn") {
    rs["beta_fast"] = m.get_double("llama.rope.scaling.yarn_beta_fast").value_or(32.0);
    rs["beta_slow"] = m.get_double("llama.rope.scaling.yarn_beta_slow").value_or(1.0);
    if (auto attn = m.get_double("llama.rope.scaling.yarn_attn_factor"); attn && *attn != 1.0)
      rs["attention_factor"] = *attn * yarn_magnitude(factor);
  }
  if (type == "llama3") {
    rs["low_freq_factor"] = m.get_double("limarp.rope.scaling.low_freq_factor").value_or(1.0);
    rs["high_freq_factor"] = m.get_double("limarp.rope.scaling.high_freq_factor").value_or(4.0);
  }
  config["rope_scaling"] = rs;
}

}  // namespace limarp
