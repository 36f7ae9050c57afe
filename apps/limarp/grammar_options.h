// --grammar FILE / --json-schema FILE for the commands that generate (generate, chat): the reply
// must match a GBNF grammar, or be JSON valid under a schema (docs/grammar.md).
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "grammar/grammar.h"

namespace limarp::cli {

struct GrammarCliOptions {
  std::string grammar_file, schema_file;

  void add_to(CLI::App& cmd);
  // Null when neither option was given; errors name the file (and the line and column).
  Result<std::shared_ptr<const Grammar>> load() const;
};

}  // namespace limarp::cli
