#include "hub/hub_settings.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace limarp::hub {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string trimmed(std::string s) {
  auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), space));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), space).base(), s.end());
  return s;
}

// huggingface_hub's truthy spellings.
bool truthy(std::string v) {
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  return trimmed(ss.str());
}

}  // namespace

HubSettings HubSettings::from_environment() {
  HubSettings s;
  s.endpoint = env("HF_ENDPOINT");
  if (s.endpoint.empty()) s.endpoint = "https://huggingface.co";
  while (s.endpoint.size() > 1 && s.endpoint.back() == '/') s.endpoint.pop_back();

  std::string home = env("HF_HOME");
  if (home.empty()) {
    std::string xdg = env("XDG_CACHE_HOME");
    if (xdg.empty()) xdg = env("HOME") + "/.cache";
    home = xdg + "/huggingface";
  }
  s.cache_dir = env("HF_HUB_CACHE");
  if (s.cache_dir.empty()) s.cache_dir = env("HUGGINGFACE_HUB_CACHE");  // the older spelling
  if (s.cache_dir.empty()) s.cache_dir = home + "/hub";

  s.token = trimmed(env("HF_TOKEN"));
  if (s.token.empty()) {
    std::string path = env("HF_TOKEN_PATH");
    if (path.empty()) path = home + "/token";
    s.token = read_token_file(path);
  }
  s.network = truthy(env("HF_HUB_OFFLINE")) ? NetworkMode::kOffline : NetworkMode::kOnline;
  return s;
}

}  // namespace limarp::hub
