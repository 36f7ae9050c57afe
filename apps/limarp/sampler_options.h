// Sampler flags shared by the commands that generate (chat, serve defaults): every field of
// SamplerSettings, with the LimaRP card defaults.
#pragma once

#include <CLI/CLI.hpp>

#include "sampling/sampler_settings.h"

namespace limarp::cli {

struct SamplerCliOptions {
  SamplerSettings s;
  std::string order;
  uint64_t seed = 0;
  bool seed_given = false;

  void add_to(CLI::App& cmd);
  Result<SamplerSettings> settings() const;
};

}  // namespace limarp::cli
