// Multi-file outputs appear under their final name only when complete, and temporaries of
// limarp's naming left by a killed run are cleaned when their process is gone, kept (and
// reported) while it runs (issue 21, row 8).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "base/atomic_folder.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace limarp {
namespace {

// The pid of a process that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

TEST(AtomicFolder, AppearsOnlyWhenCommitted) {
  const std::string dir = testing::scratch_dir("atomic_folder_commit");
  const std::string out = dir + "/model-hf";
  {
    auto folder = AtomicFolder::create(out);
    ASSERT_TRUE(folder.ok()) << folder.error().message();
    testing::write_file(folder->path() + "/config.json", "{}");
    EXPECT_FALSE(fs::exists(out));
    // Dropped without commit, as an error return would: nothing under either name.
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 0);
  auto folder = AtomicFolder::create(out);
  ASSERT_TRUE(folder.ok());
  testing::write_file(folder->path() + "/model.safetensors", "x");
  ASSERT_TRUE(folder->commit().ok());
  EXPECT_TRUE(fs::exists(out + "/model.safetensors"));
  // A second write replaces the earlier output as a whole: no stale shard survives.
  auto again = AtomicFolder::create(out);
  ASSERT_TRUE(again.ok());
  testing::write_file(again->path() + "/config.json", "{}");
  ASSERT_TRUE(again->commit().ok());
  EXPECT_FALSE(fs::exists(out + "/model.safetensors"));
  EXPECT_TRUE(fs::exists(out + "/config.json"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(AtomicFolder, NeverReplacesAFolderItDidNotWrite) {
  const std::string dir = testing::scratch_dir("atomic_folder_foreign");
  fs::create_directories(dir + "/out/notes");
  testing::write_file(dir + "/out/diary.txt", "mine");
  auto folder = AtomicFolder::create(dir + "/out");
  ASSERT_TRUE(folder.ok());
  const Status s = folder->commit();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("not replacing"), std::string::npos) << s.error().message();
  EXPECT_TRUE(fs::exists(dir + "/out/diary.txt"));
}

TEST(AtomicFolder, StaleTemporariesOfDeadRunsAreCleanedLiveOnesKept) {
  const std::string dir = testing::scratch_dir("atomic_folder_stale");
  const std::string dead = fmt::format("{}/model-hf.tmp.{}.0badf00d", dir, dead_pid());
  const std::string dead_file = fmt::format("{}/model.gguf.tmp.{}.12345678", dir, dead_pid());
  const std::string live = fmt::format("{}/other.tmp.{}.abcdef01", dir, getppid());
  const std::string old_checkpoint = dir + "/checkpoint-40.partial";
  const std::string user = dir + "/notes.tmp.txt";
  fs::create_directories(dead);
  testing::write_file(dead + "/config.json", "{}");
  testing::write_file(dead_file, "half");
  fs::create_directories(live);
  fs::create_directories(old_checkpoint);
  testing::write_file(user, "not ours");
  // The next write to the same place cleans up.
  auto folder = AtomicFolder::create(dir + "/model-hf");
  ASSERT_TRUE(folder.ok());
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(dead_file));
  EXPECT_FALSE(fs::exists(old_checkpoint));
  EXPECT_TRUE(fs::exists(live));  // its process still runs
  EXPECT_TRUE(fs::exists(user));
  const StaleTemporaries again = clean_stale_temporaries(dir);
  EXPECT_TRUE(again.removed.empty());
  ASSERT_EQ(again.in_use.size(), 1u);
  EXPECT_EQ(again.in_use[0], live);
}

}  // namespace
}  // namespace limarp
