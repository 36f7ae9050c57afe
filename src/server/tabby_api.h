// TabbyAPI's model and token routes, which SillyTavern's "TabbyAPI" text-completion type calls
// for its status line and token counts (generation itself goes to /v1/completions):
//   GET  /v1/model/list     -> {"object": "list", "data": [{"id", "object": "model", ...}]}
//   GET  /v1/model          -> the loaded model's card: {"id", "object", "owned_by", "parameters"}
//   POST /v1/token/encode   {"text", "add_bos_token" (default true)} -> {"tokens", "length"}
//   POST /v1/token/decode   {"tokens"} -> {"text"}
#pragma once

#include "server/router.h"
#include "server/server_context.h"

namespace limarp::server {

void add_tabby_routes(Router& router, const ServerContext& ctx);

}  // namespace limarp::server
