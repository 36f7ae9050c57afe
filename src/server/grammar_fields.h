// The grammar a generation request asks for, in each API's spelling, parsed once when the
// request arrives so a mistake is a 400 naming the line and column:
//   grammar, grammar_string   GBNF text (KoboldCpp, llama.cpp; "" means none)
//   json_schema               a JSON Schema object (llama.cpp; {} means none)
//   response_format           OpenAI: {"type": "text"} none, {"type": "json_object"} any JSON
//                             object (or, as llama.cpp allows, with "schema": {...}),
//                             {"type": "json_schema", "json_schema": {"schema": {...}}}
// Asking for two at once is refused rather than one silently winning.
#pragma once

#include <memory>

#include "base/json_util.h"
#include "grammar/grammar.h"

namespace limarp::server {

Result<std::shared_ptr<const Grammar>> read_grammar_fields(const Json& body);

}  // namespace limarp::server
