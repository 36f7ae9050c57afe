// The OpenAI-compatible API (SillyTavern "Text Completion" and "Chat Completion" with a
// custom endpoint, and most other clients):
//   GET  /v1/models             -> {"object": "list", "data": [{"id", "object": "model", ...}]}
//   POST /v1/completions        raw prompt; -> text_completion, or SSE chunks then [DONE]
//   POST /v1/chat/completions   messages rendered in the LimaRP format (chat_messages.h), extra
//                               keys length / char_name / user_name / personas / scenario;
//                               -> chat.completion, or chat.completion.chunk deltas then [DONE]
//   POST /v1/internal/encode    {"text"} -> {"tokens", "length"} (text-generation-webui)
#pragma once

#include "server/router.h"
#include "server/server_context.h"

namespace limarp::server {

void add_openai_routes(Router& router, const ServerContext& ctx);

}  // namespace limarp::server
