#include "server/lora_registry.h"

#include <cmath>

namespace limarp::server {

void LoraRegistry::add(std::string path, std::shared_ptr<const LoraAdapter> adapter, float scale) {
  std::lock_guard lock(mutex_);
  entries_.push_back({std::move(path), std::move(adapter), scale});
}

size_t LoraRegistry::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::vector<std::shared_ptr<const LoraAdapter>> LoraRegistry::adapters() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<const LoraAdapter>> out;
  for (const auto& e : entries_) out.push_back(e.adapter);
  return out;
}

std::vector<float> LoraRegistry::scales() const {
  std::lock_guard lock(mutex_);
  std::vector<float> out;
  for (const auto& e : entries_) out.push_back(e.scale);
  return out;
}

Json LoraRegistry::to_json() const {
  std::lock_guard lock(mutex_);
  Json out = Json::array();
  for (size_t i = 0; i < entries_.size(); ++i)
    out.push_back({{"id", i}, {"path", entries_[i].path}, {"scale", entries_[i].scale}});
  return out;
}

Result<std::vector<float>> LoraRegistry::parse_scales(const Json& list, std::string_view field) const {
  const size_t n = size();
  if (!list.is_array()) return make_error("{} must be an array of {{\"id\", \"scale\"}} objects, got {}", field, json_brief(list));
  std::vector<float> scales(n, 0.0f);
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& e = list[i];
    if (!e.is_object()) return make_error("{}[{}] must be an object with \"id\" and \"scale\"", field, i);
    const auto id = e.find("id");
    const auto scale = e.find("scale");
    if (id == e.end() || !id->is_number_integer()) return make_error("{}[{}].id must be an integer", field, i);
    if (scale == e.end() || !scale->is_number()) return make_error("{}[{}].scale must be a number", field, i);
    const int64_t k = id->get<int64_t>();
    if (k < 0 || static_cast<size_t>(k) >= n)
      return make_error("{}[{}].id {} is not a loaded adapter ({})", field, i, k,
                        n == 0 ? std::string("none are loaded") : fmt::format("0..{}", n - 1));
    const double s = scale->get<double>();
    if (!std::isfinite(s) || std::fabs(s) > 100) return make_error("{}[{}].scale must be a finite number within ±100", field, i);
    scales[static_cast<size_t>(k)] = static_cast<float>(s);
  }
  return scales;
}

void LoraRegistry::set_scales(std::vector<float> scales) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < entries_.size() && i < scales.size(); ++i) entries_[i].scale = scales[i];
}

}  // namespace limarp::server
