#include "hub/download_progress.h"

#include <unistd.h>

#include <cstdio>

#include "base/log.h"

namespace limarp::hub {

std::string human_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, kUnits[u]);
}

DownloadProgress::DownloadProgress(std::string name, int64_t total, int64_t already)
    : name_(std::move(name)),
      total_(total),
      start_bytes_(already),
      tty_(::isatty(2) != 0),
      quiet_(log::level() > log::Level::kInfo),
      last_done_(already) {}

void DownloadProgress::update(int64_t done) {
  last_done_ = done;
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    draw(done, false);
    return;
  }
  const int quarter = total_ > 0 ? static_cast<int>(4 * done / total_) : 0;
  if (quarter == last_quarter_ || quarter >= 4) return;
  last_quarter_ = quarter;
  draw(done, false);
}

void DownloadProgress::finish() {
  if (!quiet_) draw(last_done_, true);
}

void DownloadProgress::draw(int64_t done, bool final_line) {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // Speed counts this run's bytes only: a resumed download did not fetch the first part now.
  const double speed = s > 0 ? static_cast<double>(done - start_bytes_) / s : 0.0;
  std::string line = fmt::format("{}  {}", name_, human_bytes(static_cast<double>(done)));
  if (total_ > 0)
    line += fmt::format("/{} {:3.0f}%", human_bytes(static_cast<double>(total_)),
                        100.0 * static_cast<double>(done) / static_cast<double>(total_));
  line += fmt::format("  {}/s", human_bytes(speed));
  if (final_line) line += fmt::format("  {:.1f} s", s);
  else if (total_ > 0 && speed > 0) line += fmt::format("  ETA {:.0f} s", static_cast<double>(total_ - done) / speed);
  // On a terminal the line is redrawn in place (erasing what a longer one left); logs get plain lines.
  if (tty_) std::fprintf(stderr, "\r%s\x1b[K%s", line.c_str(), final_line ? "\n" : "");
  else std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace limarp::hub
