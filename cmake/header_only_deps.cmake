# The layers-only build (LIMARP_BUILD_APP=OFF, used for cross builds) needs just two libraries,
# both usable as headers: fmt (with FMT_HEADER_ONLY) and nlohmann-json, taken from the build
# machine's /usr/include so a cross build needs no packages of the target architecture. Only
# their own folders are exposed: /usr/include as a whole holds the build machine's C library.
set(limarp_host_headers ${CMAKE_BINARY_DIR}/host_headers)
file(MAKE_DIRECTORY ${limarp_host_headers})
foreach(folder fmt nlohmann)
  if(NOT EXISTS /usr/include/${folder})
    message(FATAL_ERROR "/usr/include/${folder} is missing: install libfmt-dev and nlohmann-json3-dev (scripts/setup.sh)")
  endif()
  file(CREATE_LINK /usr/include/${folder} ${limarp_host_headers}/${folder} SYMBOLIC)
endforeach()
add_library(fmt::fmt INTERFACE IMPORTED GLOBAL)
target_include_directories(fmt::fmt SYSTEM INTERFACE ${limarp_host_headers})
target_compile_definitions(fmt::fmt INTERFACE FMT_HEADER_ONLY)
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED GLOBAL)
target_include_directories(nlohmann_json::nlohmann_json SYSTEM INTERFACE ${limarp_host_headers})
