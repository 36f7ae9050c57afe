// Slot save/restore file names must stay inside --slot-save-path whatever a client sends.
#include "server/slot_api.h"

#include <gtest/gtest.h>

namespace limarp::server {
namespace {

TEST(SlotFilename, PlainNamesPass) {
  for (const char* name : {"chat1.bin", "Aqua_2024-01-01.slot", "a", "x..y"}) {
    const Status s = check_slot_filename(name);
    EXPECT_EQ(s.ok(), std::string_view(name) != "x..y") << name;
  }
}

TEST(SlotFilename, HostileNamesAreRefused) {
  for (const char* name : {"", "..", "../x", "a/../../etc/passwd", "/etc/passwd", "a/b", "a\\b", ".hidden", "..\\x",
                           "x\ny", "\x7f", "caf\xc3\xa9"}) {
    EXPECT_FALSE(check_slot_filename(name).ok()) << name;
  }
  EXPECT_FALSE(check_slot_filename(std::string_view("a\0b", 3)).ok());
  EXPECT_FALSE(check_slot_filename(std::string(201, 'a')).ok());
}

}  // namespace
}  // namespace limarp::server
