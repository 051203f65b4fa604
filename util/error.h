// qtool's one error type: a message a user can act on, naming the file and the
// field or tensor. Loaders throw it; the CLI prints it on one line and exits 1.
#pragma once
#include <stdexcept>
#include <string>

namespace qtool {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "<file>: <what>" — the shape of every message about a file.
[[noreturn]] inline void fail(const std::string& file, const std::string& what) {
  throw Error(file + ": " + what);
}

}  // namespace qtool
