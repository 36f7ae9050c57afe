// Base64 decoding (RFC 4648 test vectors) as character cards use it.
#include <gtest/gtest.h>

#include "chat/base64.h"

namespace limarp {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {{"", ""},         {"f", "Zg=="},     {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : v) {
    EXPECT_EQ(base64_encode(plain), encoded);
    auto d = base64_decode(encoded);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, plain);
  }
}

TEST(Base64, ToleratesMissingPaddingAndLineBreaks) {
  EXPECT_EQ(base64_decode("Zm9vYg").value(), "foob");
  EXPECT_EQ(base64_decode("Zm9v\nYmFy\r\n").value(), "foobar");
}

TEST(Base64, malformed_input_is_an_error) {
  EXPECT_EQ(base64_decode("Zm9v!").error().message(), "base64: invalid character 0x21 at offset 4");
  EXPECT_FALSE(base64_decode("Zg==Zg").ok());
  EXPECT_FALSE(base64_decode("Z").ok());  // truncated: a lone character
  EXPECT_FALSE(base64_decode("Zg===").ok());
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(all)).value(), all);
}

}  // namespace
}  // namespace limarp
