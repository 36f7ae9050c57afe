# Precompiled headers: most of a small file's compile time is parsing the standard library,
# fmt and nlohmann/json (and CLI11 in the program, GoogleTest in the tests), so each is
# parsed once per group of targets that share compile flags: the layer libraries (built at
# -O3) reuse limarp_base's, the program has its own, the test programs (-O1) share one.
# A precompiled header only loads into files compiled with the same target options, so the
# kernels built for other instruction sets skip it. -DLIMARP_PCH=OFF turns it off (to check
# that every file includes what it uses).
option(LIMARP_PCH "Precompile the standard library and third-party headers" ON)

set(LIMARP_PCH_HEADERS
  <algorithm> <array> <atomic> <charconv> <chrono> <cmath> <cstdint> <cstdio> <cstdlib> <cstring>
  <filesystem> <fstream> <functional> <map> <memory> <mutex> <optional> <span> <sstream> <string>
  <string_view> <thread> <unordered_map> <utility> <vector>
  <fmt/format.h> <nlohmann/json.hpp>)

# limarp_precompile(TARGET [HEADERS h...] [REUSE_FROM other])
function(limarp_precompile target)
  if(NOT LIMARP_PCH)
    return()
  endif()
  cmake_parse_arguments(ARG "" "REUSE_FROM" "HEADERS" ${ARGN})
  if(ARG_REUSE_FROM)
    target_precompile_headers(${target} REUSE_FROM ${ARG_REUSE_FROM})
  else()
    target_precompile_headers(${target} PRIVATE ${LIMARP_PCH_HEADERS} ${ARG_HEADERS})
  endif()
endfunction()
