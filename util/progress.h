// Progress on a terminal: items done, rate and time left, redrawn in place on
// stderr at most a few times a second; silent when stderr is not a terminal.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace qtool {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled = true);
  ~Progress();
  void advance(int64_t n = 1);
  void finish();

 private:
  void draw(bool final_line);
  std::string label_;
  int64_t total_, done_ = 0;
  bool enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

bool stderr_is_terminal();

}  // namespace qtool
