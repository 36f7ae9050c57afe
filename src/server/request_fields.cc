#include "server/request_fields.h"

#include <cmath>

namespace limarp::server {

const Json* RequestFields::find(std::initializer_list<std::string_view> keys, std::string_view* which) const {
  for (std::string_view key : keys) {
    const auto it = body_.find(key);
    if (it == body_.end() || it->is_null()) continue;
    if (which) *which = key;
    return &*it;
  }
  return nullptr;
}

Status RequestFields::string(std::initializer_list<std::string_view> keys, std::string& out) const {
  std::string_view key;
  const Json* v = find(keys, &key);
  if (!v) return {};
  if (!v->is_string()) return make_error("{} must be a string, got {}", key, json_brief(*v));
  out = v->get<std::string>();
  return {};
}

Status RequestFields::boolean(std::initializer_list<std::string_view> keys, bool& out) const {
  std::string_view key;
  const Json* v = find(keys, &key);
  if (!v) return {};
  if (!v->is_boolean()) return make_error("{} must be true or false, got {}", key, json_brief(*v));
  out = v->get<bool>();
  return {};
}

Status RequestFields::integer(std::initializer_list<std::string_view> keys, int64_t& out, int64_t min,
                              int64_t max) const {
  std::string_view key;
  const Json* v = find(keys, &key);
  if (!v) return {};
  if (!v->is_number()) return make_error("{} must be an integer, got {}", key, json_brief(*v));
  const double d = v->get<double>();
  if (!std::isfinite(d) || d != std::floor(d)) return make_error("{} must be an integer, got {}", key, json_brief(*v));
  if (d < static_cast<double>(min) || d > static_cast<double>(max))
    return make_error("{} must be in [{}, {}], got {}", key, min, max, json_brief(*v));
  out = static_cast<int64_t>(d);
  return {};
}

Status RequestFields::strings(std::initializer_list<std::string_view> keys, std::vector<std::string>& out,
                              size_t max_items, size_t max_bytes) const {
  std::string_view key;
  const Json* v = find(keys, &key);
  if (!v) return {};
  std::vector<std::string> items;
  if (v->is_string()) {
    items.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    if (v->size() > max_items) return make_error("{} has {} entries; at most {} are accepted", key, v->size(), max_items);
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) return make_error("{}[{}] must be a string, got {}", key, i, json_brief((*v)[i]));
      items.push_back((*v)[i].get<std::string>());
    }
  } else {
    return make_error("{} must be a string or an array of strings, got {}", key, json_brief(*v));
  }
  for (size_t i = 0; i < items.size(); ++i)
    if (items[i].size() > max_bytes) return make_error("{}[{}] is longer than {} bytes", key, i, max_bytes);
  out = std::move(items);
  return {};
}

Result<Json> parse_body_object(std::string_view body, std::string_view route, JsonLimits limits) {
  if (body.empty()) return make_error("{}: the request has no body; send a JSON object", route);
  LIMARP_ASSIGN_OR_RETURN(Json j, parse_json(body, route, limits));
  if (!j.is_object()) return make_error("{}: the body must be a JSON object", route);
  return j;
}

}  // namespace limarp::server
