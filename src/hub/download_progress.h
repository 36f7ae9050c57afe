// A download's progress on stderr: size done, percent, speed and ETA. On a terminal one line
// redrawn at most 10 times a second; piped or logged, a line per quarter so logs stay short.
// Silent when the log level is above info (-q).
//
//   DownloadProgress p("model.Q4_K_M.gguf", total_bytes, resumed_from);
//   p.update(bytes_on_disk);   // as bytes arrive
//   p.finish();
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace limarp::hub {

class DownloadProgress {
 public:
  DownloadProgress(std::string name, int64_t total, int64_t already);
  void update(int64_t done);
  void finish();

 private:
  void draw(int64_t done, bool final_line);
  std::string name_;
  int64_t total_, start_bytes_;
  bool tty_, quiet_;
  int last_quarter_ = -1;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_draw_{};
  int64_t last_done_ = 0;
};

// "1.5 GiB", "320.0 MiB", "12.0 KiB", "17 B".
std::string human_bytes(double bytes);

}  // namespace limarp::hub
