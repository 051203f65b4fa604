// qtool's one exception type and the export macro of the public API. Included
// by qtool/translator.h, the header an application includes; the internals
// throw the same type, so nothing is translated at the boundary but the text.
#pragma once
#include <stdexcept>
#include <string>

// Marks what libqtool.so exports; every other symbol is hidden (-fvisibility=hidden).
#if defined(_WIN32)
#define QTOOL_API
#else
#define QTOOL_API __attribute__((visibility("default")))
#endif

namespace qtool {

// Thrown by every public call. Its what() is the one line the command line
// prints, "qtool: error: <file>: <what>", naming the file and the field or
// tensor. (Inside qtool the same type carries "<file>: <what>"; the public
// calls add the prefix as they pass it on.)
class QTOOL_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  // Out of line: the library owns the one vtable and typeinfo, so an
  // application's catch matches what the library throws.
  ~Error() override;
};

}  // namespace qtool
