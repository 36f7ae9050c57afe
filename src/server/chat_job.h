// A job that answers a LimaRP conversation: the prompt rendered in the model's own format
// and fitted into the context by dropping whole oldest turns (the instruction block always
// stays, so the cached prefix stays too and the dropped turns are shifted out of the KV cache),
// the format's stop strings plus the request's, and the reply trimmed to its last full sentence
// when it hits the token limit (unless the request says trim_unfinished_sentence: false).
// Used by /v1/chat/completions and the native /api/limarp/chat.
#pragma once

#include "chat/chat_state.h"
#include "chat/rendered_prompt.h"
#include "server/job_builder.h"

namespace limarp::server {

struct ChatJob {
  JobSpec spec;
  int dropped_messages = 0;
  bool dropped_examples = false;
};

Result<ChatJob> build_chat_job(const ChatState& chat, PromptTail tail, const Json& body, const ServerContext& ctx,
                               Dialect dialect);

}  // namespace limarp::server
