#include "util/progress.h"

#include <unistd.h>

#include <cstdio>

namespace qtool {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled && stderr_is_terminal()) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() { finish(); }

void Progress::advance(int64_t n) {
  done_ += n;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ > std::chrono::milliseconds(200)) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) draw(true);
}

void Progress::draw(bool final_line) {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = secs > 0 ? done_ / secs : 0.0;
  const double left = rate > 0 ? (total_ - done_) / rate : 0.0;
  std::fprintf(stderr, "\r%s %lld/%lld  %.1f/s  %s %.0fs   ", label_.c_str(),
               static_cast<long long>(done_), static_cast<long long>(total_), rate,
               final_line ? "took" : "left", final_line ? secs : left);
  if (final_line) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace qtool
