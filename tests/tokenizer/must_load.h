// Loads a tokenizer that a test cannot go on without: a failure is reported with the loader's
// message, then the test program stops.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "tokenizer/tokenizer.h"

namespace limarp::testing {

inline Tokenizer must_load(const std::string& path, int64_t vocab_size = -1) {
  auto tok = Tokenizer::load(path, vocab_size);
  if (!tok.ok()) {
    ADD_FAILURE() << tok.error().message();
    std::abort();
  }
  return std::move(tok).value();
}

}  // namespace limarp::testing
