#include "default_model.h"

#include <cstdlib>
#include <filesystem>

namespace limarp::cli {

Result<std::string> model_or_default(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("LIMARP_MODEL"); env && *env) return std::string(env);
  const std::string bundled = LIMARP_DEFAULT_MODEL;
  std::error_code ec;
  if (std::filesystem::exists(bundled, ec)) return bundled;
  return make_error("no --model given, and the bundled demo model is not at {} (rebuild it with "
                    "scripts/build_demo_model.sh, or pass --model FILE)",
                    bundled);
}

}  // namespace limarp::cli
