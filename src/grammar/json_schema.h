// JSON Schema to a GBNF grammar whose every match is a JSON text valid under the schema, for the
// common subset clients send (llama.cpp json_schema, OpenAI response_format):
//   type (one or a list): object, array, string, number, integer, boolean, null
//   object: properties (written in the schema's order), required (the others optional);
//           no other keys are generated (additionalProperties is not honoured as "allowed")
//   array: items, minItems, maxItems;  string: minLength, maxLength
//   enum, const (any JSON values), anyOf / oneOf (alternatives), $ref to #/$defs/NAME or
//   #/definitions/NAME (recursion allowed), {} or true (any JSON value)
// Refused with an error naming the keyword and where it is (not silently widened): pattern,
// format, allOf, not, if/then/else, patternProperties, prefixItems, minimum/maximum and the
// other numeric bounds, uniqueItems, $ref elsewhere. Whitespace between tokens is limited to
// what a pretty printer writes, so a model cannot spin on spaces forever.
//
//   LIMARP_ASSIGN_OR_RETURN(std::string gbnf, json_schema_to_gbnf(schema));
//   LIMARP_ASSIGN_OR_RETURN(auto grammar, parse_gbnf(gbnf));
#pragma once

#include <string>

#include "base/json_util.h"
#include "base/status.h"

namespace limarp {

Result<std::string> json_schema_to_gbnf(const Json& schema);
// Any JSON value (OpenAI's response_format {"type": "json_object"}: an object).
std::string json_object_gbnf();

}  // namespace limarp
