#include <doctest/doctest.h>

#include <cstdio>


#include "tests/error_text.h"
#include "util/error.h"
#include "util/shared_library.h"

using namespace qtool;

TEST_CASE("SharedLibrary: opened by SONAME, symbols by name, failures named") {
  const SharedLibrary libm("libm.so.6", "a test");
  CHECK(libm.function<double (*)(double)>("cos")(0.0) == 1.0);
  // A variable is the one this process uses, wherever it lives (the executable
  // may hold a copy of libc's stdin).
  CHECK(SharedLibrary("libc.so.6", "a test").variable("stdin") == static_cast<void*>(&stdin));
  CHECK(test::error_text([] { SharedLibrary("libm.so.6", "a test").symbol("no_such_function"); }) ==
        "libm.so.6 (a test) has no symbol no_such_function: is it another version?");
  const std::string missing = test::error_text([] { SharedLibrary("libqtool-no-such-library.so.7", "reading X files"); });
  CHECK(missing.rfind("cannot load libqtool-no-such-library.so.7 (reading X files): ", 0) == 0);
}
