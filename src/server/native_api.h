// limarp's own endpoints, for clients (and the built-in page) that speak in conversations
// rather than prompts:
//   POST /api/limarp/chat    a CHAT.json conversation (docs/chat.md: char, user, char_persona,
//                            user_persona, scenario, examples, length, messages) plus
//                            "continue" (continue the character's last message), "stream",
//                            and every generation key of the other APIs (max_tokens, samplers,
//                            stop, genkey, lora, trim_unfinished_sentence)
//        -> {"text", "finish_reason", "stop_reason", "stopping_word", "usage", "prompt": {"tokens",
//            "reused", "evaluated", "shifted_out", "dropped_messages"}, "timings", "slot"}
//        streaming: data: {"text": piece} ... then data: {"done": true, ...the object above}
//   POST /api/limarp/prompt  the same conversation -> {"prompt", "tokens", "stop", "dropped_messages"}
//   POST /api/limarp/card    a character card's bytes (PNG or JSON) -> {"card": {...}, "chat": CHAT.json}
//                            ({{user}} macros are kept: the page's user name fills them at render time)
#pragma once

#include "server/router.h"
#include "server/server_context.h"

namespace limarp::server {

void add_native_routes(Router& router, const ServerContext& ctx);

}  // namespace limarp::server
