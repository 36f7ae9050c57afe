#include "progress_line.h"

#include <unistd.h>

#include <cstdio>
#include <utility>

namespace limarp::cli {

ProgressLine::ProgressLine(std::string what, std::string unit)
    : what_(std::move(what)), unit_(std::move(unit)), tty_(::isatty(2) != 0) {}

void ProgressLine::update(int64_t done, int64_t total) {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int tenth = static_cast<int>(frac * 10);
  if (!tty_ && tenth == last_tenth_) return;
  last_tenth_ = tenth;
  std::fprintf(stderr, "%s%s: %lld/%lld %s, %.0f s, ETA %.0f s%s", tty_ ? "\r" : "", what_.c_str(),
               static_cast<long long>(done), static_cast<long long>(total), unit_.c_str(), s,
               done > 0 ? s * (1 - frac) / frac : 0.0, tty_ ? "   " : "\n");
  std::fflush(stderr);
}

void ProgressLine::finish() {
  if (tty_ && last_tenth_ >= 0) std::fprintf(stderr, "\n");
}

}  // namespace limarp::cli
