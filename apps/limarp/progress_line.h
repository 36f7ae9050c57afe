// Progress of a long command on stderr, with elapsed time and an ETA: on a terminal one line
// redrawn in place; piped or logged, a line per tenth of the work (so logs stay readable).
//
//   ProgressLine progress("eval-length", "replies");
//   progress.update(done, total);   // as often as convenient
//   progress.finish();              // ends the redrawn line
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace limarp::cli {

class ProgressLine {
 public:
  ProgressLine(std::string what, std::string unit);
  void update(int64_t done, int64_t total);
  void finish();

 private:
  std::string what_, unit_;
  bool tty_;
  int last_tenth_ = -1;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace limarp::cli
