// The KoboldAI / KoboldCpp API, as SillyTavern's "KoboldAI Classic" and "KoboldCpp" modes
// use it (shapes: ../shared/reference/apis.md):
//   GET  /api/v1/info/version                -> {"result": "1.2.5"}
//   GET  /api/extra/version                  -> {"result": "KoboldCpp", "version": "1.76"}
//   GET  /api/v1/model                       -> {"result": "limarp/<model>"}
//   GET  /api/v1/config/max_context_length   -> {"value": N}   (also /api/extra/true_max_context_length)
//   GET  /api/v1/config/max_length           -> {"value": N}
//   POST /api/v1/generate                    -> {"results": [{"text", "finish_reason"}]}
//   POST /api/extra/generate/stream          -> event: message / data: {"token", "finish_reason"}
//   POST /api/extra/abort {"genkey"}         -> {"success": "true", "done": "true"}
//   POST /api/extra/tokencount {"prompt"}    -> {"value": N, "ids": [...]}
// Prompts are raw text (the client renders the LimaRP format itself, e.g. with the
// LimaRP-Alpaca instruct preset); generation continues the text exactly.
#pragma once

#include "server/router.h"
#include "server/server_context.h"

namespace limarp::server {

void add_kobold_routes(Router& router, const ServerContext& ctx);

}  // namespace limarp::server
