// LimaRP's response-length control: the eight levels the model was trained with, written into
// the response header as "### Response: (length = medium)".
//
//   LIMARP_ASSIGN_OR_RETURN(LengthLevel level, parse_length_level("long"));
//   std::string tag = length_modifier(level);   // " (length = long)"
//
// The levels are ordered from shortest to longest; `medium` is the card's recommended start.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "base/status.h"

namespace limarp {

enum class LengthLevel { kTiny, kShort, kMedium, kLong, kHuge, kHumongous, kExtreme, kUnlimited };

inline constexpr LengthLevel kDefaultLengthLevel = LengthLevel::kMedium;
inline constexpr size_t kLengthLevelCount = 8;
inline constexpr std::array<LengthLevel, kLengthLevelCount> kAllLengthLevels = {
    LengthLevel::kTiny, LengthLevel::kShort,     LengthLevel::kMedium,  LengthLevel::kLong,
    LengthLevel::kHuge, LengthLevel::kHumongous, LengthLevel::kExtreme, LengthLevel::kUnlimited};

// 0 (tiny) .. 7 (unlimited): the index of per-level tables such as histograms.
constexpr size_t length_level_index(LengthLevel level) { return static_cast<size_t>(level); }
// "tiny", "short", ... "unlimited".
const char* length_level_name(LengthLevel level);
// Exact lower-case names; surrounding spaces and upper case are accepted ("Medium").
Result<LengthLevel> parse_length_level(std::string_view text);
// " (length = medium)": the text appended to a response header.
std::string length_modifier(LengthLevel level);

}  // namespace limarp
