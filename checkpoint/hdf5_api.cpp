#include "checkpoint/hdf5_api.h"

#include "util/error.h"
#include "util/shared_library.h"

// The name after macro expansion: H5Lvisit may stand for H5Lvisit2.
#define QTOOL_HDF5_NAME(f) QTOOL_HDF5_QUOTE(f)
#define QTOOL_HDF5_QUOTE(f) #f

namespace qtool::checkpoint {

const Hdf5Api& hdf5() {
  static const Hdf5Api api = [] {
    static const SharedLibrary lib(QTOOL_HDF5_SONAME, "HDF5, for .h5 checkpoints");
    Hdf5Api a;
#define QTOOL_HDF5_LOAD(f) a.f = lib.function<decltype(a.f)>(QTOOL_HDF5_NAME(f));
    QTOOL_HDF5_FUNCTIONS(QTOOL_HDF5_LOAD)
#undef QTOOL_HDF5_LOAD
    // What hdf5.h's H5CHECK and H5OPEN would do at each use: the library must be
    // the version of the headers (else libhdf5 says so and aborts, as when
    // linked), and open, which sets the globals its type constants read.
    a.H5check_version(H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE);
    if (a.H5open() < 0) throw Error(std::string(QTOOL_HDF5_SONAME) + ": H5open failed");
    auto global = [&](const char* name) { return *static_cast<const hid_t*>(lib.variable(name)); };
    a.native_float = global("H5T_NATIVE_FLOAT_g");
    a.c_s1 = global("H5T_C_S1_g");
    a.ieee_f32le = global("H5T_IEEE_F32LE_g");
    a.ieee_f32be = global("H5T_IEEE_F32BE_g");
    a.file_access = global("H5P_CLS_FILE_ACCESS_ID_g");
    return a;
  }();
  return api;
}

}  // namespace qtool::checkpoint
