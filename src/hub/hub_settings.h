// Where the Hub is and where its files go, read from the environment huggingface_hub reads, so
// limarp and Python tools share one cache and one login:
//   HF_ENDPOINT     the Hub's address (default https://huggingface.co)
//   HF_HUB_CACHE    the cache folder; else $HF_HOME/hub; else ~/.cache/huggingface/hub
//   HF_TOKEN        an access token; else the file $HF_TOKEN_PATH, else $HF_HOME/token (what
//                   `huggingface-cli login` writes)
//   HF_HUB_OFFLINE  1/true/yes/on: never touch the network, use only the cache
#pragma once

#include <string>

namespace limarp::hub {

enum class NetworkMode { kOnline, kOffline };

struct HubSettings {
  std::string endpoint;   // no trailing '/'
  std::string cache_dir;
  std::string token;      // empty: anonymous
  NetworkMode network = NetworkMode::kOnline;

  // Reads the variables above at the time of the call (tests set them per process).
  static HubSettings from_environment();
};

}  // namespace limarp::hub
