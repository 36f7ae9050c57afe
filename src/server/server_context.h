// What every API handler shares: the model and tokenizer, the scheduler that runs jobs, the
// loaded adapters, and the server-wide defaults and limits set on the command line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/json_util.h"
#include "model/llama_model.h"
#include "sampling/sampler_settings.h"
#include "server/lora_registry.h"
#include "server/scheduler.h"
#include "tokenizer/tokenizer.h"

namespace limarp::server {

struct ServeDefaults {
  SamplerSettings sampler;                       // serve's sampler flags: used where a request is silent
  int64_t max_tokens = 256;                      // when a request names no token limit
  int64_t max_tokens_limit = 2048;               // any larger request is clamped to this
  std::chrono::milliseconds time_limit{300000};  // per request, from when a slot takes it; 0: none
};

struct ServerContext {
  std::string model_name;   // what /v1/models and /api/v1/model report
  const LlamaModel* model = nullptr;
  const Tokenizer* tokenizer = nullptr;
  Scheduler* scheduler = nullptr;
  LoraRegistry* loras = nullptr;
  ServeDefaults defaults;
  JsonLimits json_limits{size_t{8} << 20, 32};
  int64_t created = 0;      // unix time the model was loaded
  bool log_prompts = false; // the access log may carry prompt text (--log-prompts)
  std::string slot_save_path;  // --slot-save-path; empty: slot save/restore refused
};

}  // namespace limarp::server
