// The one-line message of the qtool::Error a call throws, for tests that check
// what a user would read; "(no error)" when it throws nothing.
#pragma once
#include <string>

#include "util/error.h"

namespace qtool::test {

template <class F>
std::string error_text(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace qtool::test
