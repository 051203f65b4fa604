// qtool's one error type: a message a user can act on, naming the file and the
// field or tensor. Loaders throw it; the CLI prints it on one line and exits 1.
#pragma once
#include <cstdio>
#include <string>
#include <string_view>

#include "qtool/error.h"  // the class itself: public, thrown through the API too

namespace qtool {

// Names from a file (tensor names, JSON keys, dataset paths) go into one-line
// messages; a crafted name may hold a newline or a terminal escape, so control
// bytes are shown as \xNN.
inline std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// "<file>: <what>" — the shape of every message about a file, always one line.
[[noreturn]] inline void fail(const std::string& file, const std::string& what) {
  throw Error(printable(file) + ": " + printable(what));
}

}  // namespace qtool
