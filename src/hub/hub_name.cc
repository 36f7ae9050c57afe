#include "hub/hub_name.h"

#include <algorithm>
#include <cctype>

namespace limarp::hub {
namespace {

// The Hub's own rule for repository name parts: letters, digits, '-', '_', '.'; no "--" or
// ".." (the cache folder name joins parts with "--", so a part containing it is ambiguous).
bool valid_repo_part(std::string_view part) {
  if (part.empty() || part.size() > 96) return false;
  if (part.find("--") != std::string_view::npos || part.find("..") != std::string_view::npos) return false;
  if (part.front() == '-' || part.front() == '.' || part.back() == '-' || part.back() == '.') return false;
  return std::all_of(part.begin(), part.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

bool is_hub_name(std::string_view text) { return text.starts_with(kHubPrefix); }

bool is_commit_hash(std::string_view revision) {
  return revision.size() == 40 && std::all_of(revision.begin(), revision.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
         });
}

std::string HubName::display() const {
  std::string s = fmt::format("hf:{}", repo);
  if (revision != "main") s += "@" + revision;
  if (!quant.empty()) s += ":" + quant;
  if (!file.empty()) s += ":" + file;
  return s;
}

Result<HubName> parse_hub_name(std::string_view text) {
  std::string_view rest = text;
  if (rest.starts_with(kHubPrefix)) rest.remove_prefix(kHubPrefix.size());
  HubName name;
  // The tag comes after the first ':' (repository names and revisions never contain one).
  if (const size_t colon = rest.find(':'); colon != std::string_view::npos) {
    const std::string_view tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (tag.empty()) return make_error("{:?}: empty tag after ':' (expected a quantization like Q4_K_M or a file)", text);
    if (tag.find_first_of("./") != std::string_view::npos) {
      if (tag.starts_with('/') || tag.find("..") != std::string_view::npos)
        return make_error("{:?}: file {:?} must be a relative path inside the repository", text, tag);
      name.file = std::string(tag);
    } else {
      name.quant = std::string(tag);
      std::transform(name.quant.begin(), name.quant.end(), name.quant.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    }
  }
  if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    name.revision = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (name.revision.empty() || name.revision.find("..") != std::string::npos)
      return make_error("{:?}: invalid revision after '@'", text);
  }
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || !valid_repo_part(rest.substr(0, slash)) ||
      !valid_repo_part(rest.substr(slash + 1)))
    return make_error("{:?}: expected a Hub repository ORG/NAME (letters, digits, '-', '_', '.'), "
                      "like hf:TheBloke/Llama-2-7B-GGUF:Q4_K_M",
                      text);
  name.repo = std::string(rest);
  return name;
}

}  // namespace limarp::hub
