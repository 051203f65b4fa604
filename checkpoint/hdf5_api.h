// libhdf5, opened at the first .h5 checkpoint instead of linked (util/shared_library.h
// says why): the functions and constants the reader uses, resolved by name from
// the library qtool was built against, called as hdf5().H5Fopen(...).
#pragma once
#include <hdf5.h>

// hdf5.h's flag macros (H5F_ACC_RDONLY, …) call H5check() and H5open() by name
// at every use, which needs the library linked; hdf5() calls both once, on
// opening it, so here they are plain constants. (Its type constants, such as
// H5T_NATIVE_FLOAT, read globals by name: use hdf5().native_float and kin.)
#undef H5CHECK
#define H5CHECK
#undef H5OPEN
#define H5OPEN

namespace qtool::checkpoint {

// X(function) for every libhdf5 function the reader calls. A name hdf5.h maps to
// a versioned one (H5Lvisit → H5Lvisit2 from 1.12) is resolved as mapped.
#define QTOOL_HDF5_FUNCTIONS(X)                                                                        \
  X(H5check_version) X(H5open) X(H5free_memory) X(H5Eget_auto2) X(H5Eset_auto2) X(H5Ewalk2)            \
  X(H5Fis_hdf5) X(H5Fopen) X(H5Fclose) X(H5Pcreate) X(H5Pclose) X(H5Pset_fclose_degree)                \
  X(H5Pget_external_count) X(H5Pget_layout) X(H5Pget_chunk) X(H5Pget_nfilters) X(H5Lvisit) X(H5Oopen)  \
  X(H5Oclose) X(H5Iget_type) X(H5Dget_type) X(H5Dget_space) X(H5Dget_create_plist)                     \
  X(H5Dget_space_status) X(H5Dget_num_chunks) X(H5Dread) X(H5Tget_class) X(H5Tget_size) X(H5Tequal)    \
  X(H5Tclose) X(H5Tcopy) X(H5Tset_size) X(H5Tset_cset) X(H5Tget_cset) X(H5Tis_variable_str)            \
  X(H5Sget_simple_extent_type) X(H5Sget_simple_extent_ndims) X(H5Sget_simple_extent_dims)              \
  X(H5Sget_simple_extent_npoints) X(H5Sclose) X(H5Aexists) X(H5Aopen) X(H5Aclose) X(H5Aget_type)       \
  X(H5Aget_space) X(H5Aread)

struct Hdf5Api {
#define QTOOL_HDF5_MEMBER(f) decltype(&::f) f;
  QTOOL_HDF5_FUNCTIONS(QTOOL_HDF5_MEMBER)
#undef QTOOL_HDF5_MEMBER
  // What hdf5.h's H5T_NATIVE_FLOAT, H5T_C_S1, H5T_IEEE_F32LE, H5T_IEEE_F32BE and
  // H5P_FILE_ACCESS read from the library's globals once it is open.
  hid_t native_float, c_s1, ieee_f32le, ieee_f32be, file_access;
};

// Opens libhdf5 on first use; throws qtool::Error naming it when it cannot.
const Hdf5Api& hdf5();

}  // namespace qtool::checkpoint
