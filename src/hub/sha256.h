// SHA-256 of a file through OpenSSL, as the Hub names LFS objects: lower-case hex.
#pragma once

#include <string>

#include "base/status.h"

namespace limarp::hub {

Result<std::string> sha256_file(const std::string& path);

}  // namespace limarp::hub
