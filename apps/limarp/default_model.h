// The bundled demo model, used when a command gets no --model: $LIMARP_MODEL when set, else
// models/limarp-demo/limarp-demo.gguf in the source tree the binary was built from.
#pragma once

#include <string>

#include "base/status.h"

namespace limarp::cli {

Result<std::string> model_or_default(const std::string& given);

}  // namespace limarp::cli
