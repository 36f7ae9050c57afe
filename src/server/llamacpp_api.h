// llama.cpp server conventions (SillyTavern's "llama.cpp" Text Completion type and the tools
// written for that server):
//   POST /completion {"prompt", "n_predict", "cache_prompt", "n_keep", "id_slot", "stop",
//                     samplers..., "lora", "stream"}
//        -> {"content", "stop", "stop_type": "eos"|"limit"|"word"|"none", "stopping_word",
//            "tokens_cached", "tokens_evaluated", "tokens_predicted", "truncated", "id_slot",
//            "timings"}; streaming: data: {"content", "stop": false} ... then the full object
//   POST /tokenize {"content", "add_special"}   -> {"tokens": [...]}
//   POST /detokenize {"tokens"}                 -> {"content"}
//   GET  /health                                -> {"status": "ok"} (503 while loading)
//   GET  /props, GET /slots
//   GET  /lora-adapters, POST /lora-adapters [{"id", "scale"}]   (lora_registry.h)
#pragma once

#include "server/router.h"
#include "server/server_context.h"

namespace limarp::server {

void add_llamacpp_routes(Router& router, const ServerContext& ctx);

}  // namespace limarp::server
