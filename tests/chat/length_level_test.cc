// The eight length levels: names, parsing, the header modifier.
#include <gtest/gtest.h>

#include "chat/length_level.h"

namespace limarp {
namespace {

TEST(LengthLevel, NamesInOrder) {
  std::string all;
  for (LengthLevel l : kAllLengthLevels) all += std::string(length_level_name(l)) + " ";
  EXPECT_EQ(all, "tiny short medium long huge humongous extreme unlimited ");
  EXPECT_EQ(kDefaultLengthLevel, LengthLevel::kMedium);
}

TEST(LengthLevel, ParseRoundTripsAndToleratesCaseAndSpaces) {
  for (LengthLevel l : kAllLengthLevels) {
    auto p = parse_length_level(length_level_name(l));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, l);
  }
  EXPECT_EQ(parse_length_level(" Huge ").value(), LengthLevel::kHuge);
  auto bad = parse_length_level("gigantic");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(),
            "unknown length \"gigantic\" (expected tiny, short, medium, long, huge, humongous, extreme or unlimited)");
}

TEST(LengthLevel, Modifier) {
  EXPECT_EQ(length_modifier(LengthLevel::kMedium), " (length = medium)");
  EXPECT_EQ(length_modifier(LengthLevel::kHumongous), " (length = humongous)");
}

}  // namespace
}  // namespace limarp
