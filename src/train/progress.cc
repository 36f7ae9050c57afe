#include "train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace limarp::train {

ProgressBar::ProgressBar(bool enabled)
    : enabled_(enabled), tty_(::isatty(2) != 0), start_(std::chrono::steady_clock::now()) {}

std::string format_duration(double s) {
  const auto total = static_cast<int64_t>(s + 0.5);
  if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
  if (total >= 60) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

void ProgressBar::update(const ProgressInfo& p) {
  if (!enabled_ || p.total <= 0) return;
  if (first_step_ < 0) {
    first_step_ = p.step - 1;  // resumed runs time only their own steps
    start_ = std::chrono::steady_clock::now();
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done = p.step - first_step_;
  const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(p.total - p.step) : 0;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * p.step / p.total);
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
  bar[kWidth] = '\0';
  const std::string line = fmt::format("step {}/{} [{}] loss {:.4f} lr {:.2e} {:.0f} tok/s ETA {}", p.step, p.total,
                                       bar, p.loss, p.lr, p.tokens_per_s, format_duration(eta));
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
    drawn_ = true;
  } else {
    const int64_t every = std::max<int64_t>(1, p.total / 20);
    if (p.step == p.total || p.step - last_printed_ >= every || last_printed_ < 0) {
      std::fprintf(stderr, "%s\n", line.c_str());
      last_printed_ = p.step;
    }
  }
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace limarp::train
