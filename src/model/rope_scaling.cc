#include "model/rope_scaling.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "kernels/rope.h"

namespace limarp {

namespace {
struct TypeName {
  RopeScalingType type;
  const char* name;
  bool llama_cpp;  // a value llama.cpp accepts in llama.rope.scaling.type
};
constexpr TypeName kTypes[] = {
    {RopeScalingType::kNone, "none", true},       {RopeScalingType::kLinear, "linear", true},
    {RopeScalingType::kNtk, "ntk", false},        {RopeScalingType::kDynamic, "dynamic", false},
    {RopeScalingType::kYarn, "yarn", true},       {RopeScalingType::kLlama3, "llama3", false},
};

constexpr const char* kTypeKey = "llama.rope.scaling.type";
constexpr const char* kLimarpTypeKey = "limarp.rope.scaling.type";
constexpr const char* kFactorKey = "llama.rope.scaling.factor";
constexpr const char* kOrigKey = "llama.rope.scaling.original_context_length";
constexpr const char* kExtKey = "llama.rope.scaling.yarn_ext_factor";
constexpr const char* kAttnKey = "llama.rope.scaling.yarn_attn_factor";
constexpr const char* kBetaFastKey = "llama.rope.scaling.yarn_beta_fast";
constexpr const char* kBetaSlowKey = "llama.rope.scaling.yarn_beta_slow";
constexpr const char* kLowKey = "limarp.rope.scaling.low_freq_factor";
constexpr const char* kHighKey = "limarp.rope.scaling.high_freq_factor";

std::vector<float> base_inv_freq(double theta, int64_t head_dim) {
  std::vector<float> f(static_cast<size_t>(head_dim / 2));
  for (int64_t i = 0; i < head_dim / 2; ++i)
    f[static_cast<size_t>(i)] =
        static_cast<float>(1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(head_dim)));
  return f;
}

// The pair index at which a frequency turns `rotations` times over the original context
// (YaRN's find_correction_dim).
double yarn_corr_dim(double rotations, int64_t head_dim, double orig, double theta) {
  return static_cast<double>(head_dim) * std::log(orig / (rotations * 2 * std::numbers::pi)) / (2 * std::log(theta));
}

void yarn(const RopeScaling& s, double theta, int64_t head_dim, int64_t orig, RopeFrequencies& f) {
  const double lo = std::max(0.0, std::floor(yarn_corr_dim(s.yarn_beta_fast, head_dim, static_cast<double>(orig), theta)));
  const double hi = std::min(static_cast<double>(head_dim - 1),
                             std::ceil(yarn_corr_dim(s.yarn_beta_slow, head_dim, static_cast<double>(orig), theta)));
  for (size_t i = 0; i < f.inv_freq.size(); ++i) {
    const double extrap = f.inv_freq[i], interp = extrap / s.factor;
    const double ramp = std::clamp((static_cast<double>(i) - lo) / std::max(0.001, hi - lo), 0.0, 1.0);
    const double w = (1.0 - ramp) * s.yarn_ext_factor;  // 1: extrapolate (fast pairs), 0: interpolate
    f.inv_freq[i] = static_cast<float>(interp * (1.0 - w) + extrap * w);
  }
  const double magnitude = s.yarn_ext_factor != 0 && s.factor > 1 ? 1.0 + 0.1 * std::log(s.factor) : 1.0;
  f.mscale = static_cast<float>(s.yarn_attn_factor * magnitude);
}

void llama3(const RopeScaling& s, int64_t orig, RopeFrequencies& f) {
  const double low_wavelen = static_cast<double>(orig) / s.low_freq_factor;
  const double high_wavelen = static_cast<double>(orig) / s.high_freq_factor;
  for (float& inv : f.inv_freq) {
    const double wavelen = 2 * std::numbers::pi / inv;
    if (wavelen < high_wavelen) continue;
    if (wavelen > low_wavelen) {
      inv = static_cast<float>(inv / s.factor);
      continue;
    }
    const double smooth = (static_cast<double>(orig) / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    inv = static_cast<float>((1 - smooth) * inv / s.factor + smooth * inv);
  }
}
}  // namespace

const char* rope_scaling_name(RopeScalingType type) {
  for (const auto& t : kTypes)
    if (t.type == type) return t.name;
  return "?";
}

std::optional<RopeScalingType> parse_rope_scaling_type(std::string_view name) {
  for (const auto& t : kTypes)
    if (name == t.name) return t.type;
  return std::nullopt;
}

Status RopeScaling::validate() const {
  if (!active()) return {};
  if (!(factor > 0 && factor <= 1024)) return make_error("rope scaling factor {} is out of range (0..1024]", factor);
  if (original_context < 0) return make_error("rope original context {} is negative", original_context);
  if (type == RopeScalingType::kYarn && !(yarn_beta_fast > 0 && yarn_beta_slow > 0))
    return make_error("yarn beta_fast {} and beta_slow {} must be positive", yarn_beta_fast, yarn_beta_slow);
  if (type == RopeScalingType::kLlama3 && !(high_freq_factor > low_freq_factor && low_freq_factor > 0))
    return make_error("llama3 rope scaling needs 0 < low_freq_factor ({}) < high_freq_factor ({})", low_freq_factor,
                      high_freq_factor);
  return {};
}

std::string RopeScaling::describe() const {
  if (!active()) return "none";
  std::string out = fmt::format("{} x{:g}", rope_scaling_name(type), factor);
  if (original_context > 0) out += fmt::format(" (original context {})", original_context);
  return out;
}

double ntk_base(double theta, double s, int64_t head_dim) {
  const double d = static_cast<double>(head_dim);
  return theta * std::pow(s, d / (d - 2));
}

RopeFrequencies rope_frequencies(const RopeScaling& s, float theta, int64_t head_dim, int64_t context_length) {
  RopeFrequencies f;
  f.inv_freq.resize(static_cast<size_t>(head_dim / 2));
  kernels::rope_inv_freq(f.inv_freq.data(), head_dim, theta);
  const int64_t orig = s.original(context_length);
  switch (s.type) {
    case RopeScalingType::kNone:
      break;
    case RopeScalingType::kLinear:
      for (float& inv : f.inv_freq) inv /= s.factor;
      break;
    case RopeScalingType::kNtk:
      f.inv_freq = base_inv_freq(ntk_base(theta, s.factor, head_dim), head_dim);
      break;
    case RopeScalingType::kDynamic: {
      const int64_t ctx = s.run_context > 0 ? s.run_context : context_length;
      if (ctx > orig) {
        const double scale = s.factor * static_cast<double>(ctx) / static_cast<double>(orig) - (s.factor - 1);
        f.inv_freq = base_inv_freq(ntk_base(theta, scale, head_dim), head_dim);
      }
      break;
    }
    case RopeScalingType::kYarn:
      yarn(s, theta, head_dim, orig, f);
      break;
    case RopeScalingType::kLlama3:
      llama3(s, orig, f);
      break;
  }
  return f;
}

Result<RopeScaling> rope_scaling_from_metadata(const Metadata& m, const std::string& source) {
  RopeScaling s;
  std::string name = m.get_string(kTypeKey).value_or("none");
  if (auto own = m.get_string(kLimarpTypeKey)) name = *own;
  auto type = parse_rope_scaling_type(name);
  if (!type)
    return make_error("{}: {} is \"{}\"; expected none, linear or yarn (or limarp's ntk, dynamic, llama3)", source,
                      kTypeKey, name);
  s.type = *type;
  auto f32 = [&](const char* key, float& out) {
    if (auto v = m.get_double(key)) out = static_cast<float>(*v);
  };
  f32(kFactorKey, s.factor);
  // Files from before the scaling.* keys carry linear scaling as a frequency multiplier.
  if (auto legacy = m.get_double("llama.rope.scale_linear"); legacy && !m.find(kTypeKey) && *legacy != 1.0) {
    s.type = RopeScalingType::kLinear;
    s.factor = static_cast<float>(*legacy);
  }
  s.original_context = m.get_int(kOrigKey).value_or(0);
  f32(kExtKey, s.yarn_ext_factor);
  f32("llama.rope.scaling.attn_factor", s.yarn_attn_factor);
  f32(kAttnKey, s.yarn_attn_factor);
  f32(kBetaFastKey, s.yarn_beta_fast);
  f32(kBetaSlowKey, s.yarn_beta_slow);
  f32(kLowKey, s.low_freq_factor);
  f32(kHighKey, s.high_freq_factor);
  if (Status st = s.validate(); !st.ok()) return make_error("{}: {}", source, st.error().message());
  return s;
}

void rope_scaling_to_metadata(const RopeScaling& s, Metadata& m) {
  if (!s.active()) return;
  bool llama_cpp = false;
  for (const auto& t : kTypes)
    if (t.type == s.type) llama_cpp = t.llama_cpp;
  m.set(kTypeKey, MetaValue::str(llama_cpp ? rope_scaling_name(s.type) : "none"));
  if (!llama_cpp) m.set(kLimarpTypeKey, MetaValue::str(rope_scaling_name(s.type)));
  m.set(kFactorKey, MetaValue::f32(s.factor));
  if (s.original_context > 0) m.set(kOrigKey, MetaValue::u32(static_cast<uint32_t>(s.original_context)));
  if (s.type == RopeScalingType::kYarn) {
    m.set(kExtKey, MetaValue::f32(s.yarn_ext_factor));
    m.set(kAttnKey, MetaValue::f32(s.yarn_attn_factor));
    m.set(kBetaFastKey, MetaValue::f32(s.yarn_beta_fast));
    m.set(kBetaSlowKey, MetaValue::f32(s.yarn_beta_slow));
  }
  if (s.type == RopeScalingType::kLlama3) {
    m.set(kLowKey, MetaValue::f32(s.low_freq_factor));
    m.set(kHighKey, MetaValue::f32(s.high_freq_factor));
  }
}

}  // namespace limarp
