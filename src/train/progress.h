// The progress line of a training run on stderr: step, a bar, loss, learning rate, tokens per
// second and the time left. On a terminal it redraws one line; otherwise (a log file, CI) it
// prints a line about every 5% of the run so logs stay short.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace limarp::train {

struct ProgressInfo {
  int64_t step = 0, total = 0;
  double loss = 0, lr = 0, tokens_per_s = 0;
};

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled);
  void update(const ProgressInfo& info);
  // Ends the line (on a terminal) before other output.
  void finish();

 private:
  bool enabled_, tty_;
  int64_t last_printed_ = -1;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  int64_t first_step_ = -1;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

}  // namespace limarp::train
