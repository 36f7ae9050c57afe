#include "server/grammar_fields.h"

#include "grammar/json_schema.h"

namespace limarp::server {
namespace {

// The GBNF text one field asks for; empty when it asks for nothing.
Result<std::string> gbnf_of(const Json& body, std::string_view key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::string();
  const Json& v = *it;
  if (key == "grammar" || key == "grammar_string") {
    if (!v.is_string()) return make_error("{} must be a GBNF grammar as a string, got {}", key, json_brief(v));
    return v.get<std::string>();
  }
  if (key == "json_schema") {
    if (v.is_object() && v.empty()) return std::string();
    LIMARP_ASSIGN_OR_RETURN(std::string gbnf, json_schema_to_gbnf(v));
    return gbnf;
  }
  // response_format
  if (!v.is_object()) return make_error("response_format must be an object, got {}", json_brief(v));
  const auto type = v.find("type");
  if (type == v.end() || !type->is_string()) return make_error("response_format.type must be a string");
  const std::string t = type->get<std::string>();
  if (t == "text") return std::string();
  if (t == "json_object") {
    if (const auto schema = v.find("schema"); schema != v.end() && !schema->is_null()) return json_schema_to_gbnf(*schema);
    return json_object_gbnf();
  }
  if (t == "json_schema") {
    const auto js = v.find("json_schema");
    if (js == v.end() || !js->is_object()) return make_error("response_format.json_schema must be an object");
    const auto schema = js->find("schema");
    if (schema == js->end()) return make_error("response_format.json_schema.schema is required");
    return json_schema_to_gbnf(*schema);
  }
  return make_error("response_format.type must be text, json_object or json_schema, got \"{}\"", t);
}

}  // namespace

Result<std::shared_ptr<const Grammar>> read_grammar_fields(const Json& body) {
  std::string gbnf;
  std::string_view from;
  for (std::string_view key : {"grammar", "grammar_string", "json_schema", "response_format"}) {
    LIMARP_ASSIGN_OR_RETURN(std::string text, gbnf_of(body, key));
    if (text.empty()) continue;
    if (!gbnf.empty() && text != gbnf)
      return make_error("{} and {} both constrain the reply; send one of them", from, key);
    gbnf = std::move(text);
    from = key;
  }
  if (gbnf.empty()) return std::shared_ptr<const Grammar>();
  return parse_gbnf(gbnf);
}

}  // namespace limarp::server
