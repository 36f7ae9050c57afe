// An exclusive advisory lock on a file (flock), held for the object's lifetime: two limarp
// processes, or limarp and a Python tool, never write the same blob at once.
#pragma once

#include <string>

#include "base/status.h"

namespace limarp::hub {

class FileLock {
 public:
  // Waits until the lock is free; creates the lock file and its folder.
  static Result<FileLock> acquire(const std::string& path);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace limarp::hub
