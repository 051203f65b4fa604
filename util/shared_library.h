// A shared library opened when first needed instead of linked. Linking maps and
// relocates a library in every process at start-up, used or not: oneDNN
// (2.3 MiB resident with its OpenCL loader) serves only FP32 products, and
// libhdf5 (6.4 MiB with the TLS and Kerberos stack its libcurl pulls in) only
// .h5 checkpoints; a packed model needs neither.
#pragma once
#include <string>

namespace qtool {

class SharedLibrary {
 public:
  // Opens the library by its SONAME (as the dynamic linker would find it);
  // `purpose` says what it is needed for. Throws qtool::Error when it cannot.
  // It stays loaded for the life of the process, as a linked library does: its
  // functions may be called until exit.
  SharedLibrary(std::string soname, std::string purpose);
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  // The address of a function or variable the library defines; throws when absent.
  void* symbol(const char* name) const;
  // A variable as the process uses it: an executable that links the library
  // too holds its own copy of each variable it reads (a copy relocation), and
  // the library then reads and writes that copy, not its own.
  void* variable(const char* name) const;
  template <class F>
  F function(const char* name) const {
    return reinterpret_cast<F>(symbol(name));
  }

 private:
  std::string soname_, purpose_;
  void* handle_ = nullptr;
};

}  // namespace qtool
