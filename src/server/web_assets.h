// The web chat page (src/server/web/), compiled into the binary by cmake/embed_files.cmake.
// The server answers GET for exactly these paths and nothing else, so no request can reach
// the file system, whatever its path says.
#pragma once

#include <span>
#include <string_view>

namespace limarp::server {

struct WebAsset {
  std::string_view path;          // "/index.html", "/app.js", ...
  std::string_view content_type;
  std::string_view body;
};

std::span<const WebAsset> web_assets();

}  // namespace limarp::server
