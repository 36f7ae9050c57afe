#include "train/yaml_reader.h"

namespace limarp::train {
namespace {

constexpr size_t kMaxYamlBytes = size_t{64} << 20;

std::string shown(const YAML::Node& node) {
  // (fmt, not "'" + std::string: GCC 12 warns falsely about that concatenation's memcpy
  // when this file is compiled alone, as the unity build does when it ends a batch.)
  if (node.IsScalar()) return fmt::format("'{}'", node.Scalar().substr(0, 80));
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

}  // namespace

Result<YAML::Node> parse_yaml(std::string_view text, const std::string& source) {
  if (text.size() > kMaxYamlBytes) return make_error("{}: {} bytes is too large for a YAML file", source, text.size());
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return make_error("{}: invalid YAML at line {}, column {}: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
}

Result<int64_t> yaml_int(const YAML::Node& node, const std::string& source, std::string_view key) {
  try {
    if (node.IsScalar()) {
      const std::string& s = node.Scalar();
      size_t used = 0;
      const long long v = std::stoll(s, &used);
      if (used == s.size()) return static_cast<int64_t>(v);
    }
  } catch (const std::exception&) {
  }
  return make_error("{}: {} must be an integer, got {}", source, key, shown(node));
}

Result<double> yaml_number(const YAML::Node& node, const std::string& source, std::string_view key) {
  try {
    if (node.IsScalar()) {
      const std::string& s = node.Scalar();
      size_t used = 0;
      const double v = std::stod(s, &used);
      if (used == s.size()) return v;
    }
  } catch (const std::exception&) {
  }
  return make_error("{}: {} must be a number, got {}", source, key, shown(node));
}

Result<bool> yaml_bool(const YAML::Node& node, const std::string& source, std::string_view key) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE" || s == "yes") return true;
    if (s == "false" || s == "False" || s == "FALSE" || s == "no") return false;
  }
  return make_error("{}: {} must be true or false, got {}", source, key, shown(node));
}

Result<std::string> yaml_string(const YAML::Node& node, const std::string& source, std::string_view key) {
  if (node.IsScalar()) return node.Scalar();
  return make_error("{}: {} must be a string, got {}", source, key, shown(node));
}

Result<std::vector<std::string>> yaml_string_list(const YAML::Node& node, const std::string& source,
                                                  std::string_view key) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence()) return make_error("{}: {} must be a list of strings, got {}", source, key, shown(node));
  for (const auto& item : node) {
    if (!item.IsScalar()) return make_error("{}: every entry of {} must be a string", source, key);
    out.push_back(item.Scalar());
  }
  return out;
}

}  // namespace limarp::train
