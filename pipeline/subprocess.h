// Runs this qtool binary as a child process and captures its standard output:
// the bench stage times translation in a fresh process, so its peak RSS is that
// of translating alone, not of the pipeline that loaded other models before.
#pragma once
#include <string>
#include <vector>

namespace qtool::pipeline {

// Runs `qtool args...` (the binary of this process); returns its stdout, throws
// qtool::Error with its last stderr line when it fails. With `show_stderr` the
// child writes to this process's stderr (its progress display on a terminal).
std::string run_self(const std::vector<std::string>& args, bool show_stderr = false);

}  // namespace qtool::pipeline
