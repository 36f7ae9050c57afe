// Memory sizes: how much this machine can give a run, and sizes written by people ("8G").
//
//   LIMARP_ASSIGN_OR_RETURN(uint64_t limit, parse_memory_size("512M"));
//   std::optional<uint64_t> free = available_memory();
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace limarp {

// MemAvailable from /proc/meminfo (what can be allocated without swapping), else the
// physical memory (sysconf); nullopt when neither can be read.
std::optional<uint64_t> available_memory();

// The most memory this process has held resident so far (getrusage's ru_maxrss).
uint64_t peak_resident_bytes();

// "8G", "512M", "64k", "1.5GiB", "1048576": binary units (K = 1024), case-insensitive, an
// optional "B" / "iB". An error names the text.
Result<uint64_t> parse_memory_size(std::string_view text);

// "1.50 GiB", "12.0 MiB", "3.0 KiB".
std::string human_bytes(uint64_t bytes);

}  // namespace limarp
