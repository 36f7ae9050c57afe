// YAML input (training configs, LimaRP conversation files) read without exceptions leaking:
// yaml-cpp throws on malformed text and on conversions, so every access goes through these
// helpers, which return errors naming the file, the key and what was expected.
//
//   LIMARP_ASSIGN_OR_RETURN(YAML::Node root, parse_yaml(text, "config.yml"));
//   LIMARP_ASSIGN_OR_RETURN(int64_t r, yaml_int(root["lora_r"], "config.yml", "lora_r"));
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace limarp::train {

Result<YAML::Node> parse_yaml(std::string_view text, const std::string& source);

// Scalars, with the key named in errors ("config.yml: lora_r must be an integer, got 'x'").
Result<int64_t> yaml_int(const YAML::Node& node, const std::string& source, std::string_view key);
Result<double> yaml_number(const YAML::Node& node, const std::string& source, std::string_view key);
Result<bool> yaml_bool(const YAML::Node& node, const std::string& source, std::string_view key);
Result<std::string> yaml_string(const YAML::Node& node, const std::string& source, std::string_view key);
Result<std::vector<std::string>> yaml_string_list(const YAML::Node& node, const std::string& source,
                                                  std::string_view key);

}  // namespace limarp::train
