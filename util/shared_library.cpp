#include "util/shared_library.h"

#include <dlfcn.h>

#include "util/error.h"

namespace qtool {

SharedLibrary::SharedLibrary(std::string soname, std::string purpose)
    : soname_(std::move(soname)), purpose_(std::move(purpose)) {
  handle_ = ::dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) throw Error("cannot load " + soname_ + " (" + purpose_ + "): " + ::dlerror());
}

void* SharedLibrary::symbol(const char* name) const {
  ::dlerror();
  void* p = ::dlsym(handle_, name);
  if (!p) throw Error(soname_ + " (" + purpose_ + ") has no symbol " + name + ": is it another version?");
  return p;
}

void* SharedLibrary::variable(const char* name) const {
  if (void* p = ::dlsym(RTLD_DEFAULT, name)) return p;  // found only when the process links the library
  return symbol(name);
}

}  // namespace qtool
