#include "grammar_options.h"

#include "base/mapped_file.h"
#include "grammar/json_schema.h"

namespace limarp::cli {

void GrammarCliOptions::add_to(CLI::App& cmd) {
  auto* g = cmd.add_option("--grammar", grammar_file, "GBNF grammar file (llama.cpp's dialect) the reply must match");
  auto* s = cmd.add_option("--json-schema", schema_file, "JSON Schema file: the reply is JSON valid under it");
  g->excludes(s);
}

Result<std::shared_ptr<const Grammar>> GrammarCliOptions::load() const {
  if (!grammar_file.empty()) {
    LIMARP_ASSIGN_OR_RETURN(std::string text, read_text_file(grammar_file, kMaxGrammarBytes));
    auto g = parse_gbnf(text);
    if (!g.ok()) return g.error().with_context(grammar_file);
    return *g;
  }
  if (!schema_file.empty()) {
    LIMARP_ASSIGN_OR_RETURN(std::string text, read_text_file(schema_file, kMaxGrammarBytes));
    auto schema = parse_json(text, schema_file);
    if (!schema.ok()) return schema.error();
    auto gbnf = json_schema_to_gbnf(*schema);
    if (!gbnf.ok()) return gbnf.error().with_context(schema_file);
    return parse_gbnf(*gbnf);
  }
  return std::shared_ptr<const Grammar>();
}

}  // namespace limarp::cli
