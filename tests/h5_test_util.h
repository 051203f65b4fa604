// Reads reference datasets (any numeric type, or a string) from the kit's
// golden.h5 files for the tests. Test-only: the product's HDF5 reader is strict
// about float32 tensors and is tested on its own.
#pragma once
#include <hdf5.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace qtool::test {

struct H5Array {
  std::vector<hsize_t> dims;
  std::vector<double> values;
};

inline H5Array h5_read(const std::string& file, const std::string& dataset) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) throw std::runtime_error("cannot open " + file);
  hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  if (d < 0) {
    H5Fclose(f);
    throw std::runtime_error(file + ": no dataset " + dataset);
  }
  hid_t sp = H5Dget_space(d);
  H5Array a;
  a.dims.resize(H5Sget_simple_extent_ndims(sp));
  H5Sget_simple_extent_dims(sp, a.dims.data(), nullptr);
  size_t n = 1;
  for (hsize_t x : a.dims) n *= x;
  a.values.resize(n);
  H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data());
  H5Sclose(sp);
  H5Dclose(d);
  H5Fclose(f);
  return a;
}

inline std::string h5_read_string(const std::string& file, const std::string& dataset) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  hid_t t = H5Dget_type(d);
  std::string out;
  if (H5Tis_variable_str(t) > 0) {
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5T_CSET_UTF8);
    char* s = nullptr;
    H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s);
    if (s) out = s;
    hid_t sp = H5Dget_space(d);
    H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, &s);
    H5Sclose(sp);
    H5Tclose(mt);
  } else {
    std::vector<char> buf(H5Tget_size(t) + 1, 0);
    H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
    out = buf.data();
  }
  H5Tclose(t);
  H5Dclose(d);
  H5Fclose(f);
  return out;
}

}  // namespace qtool::test
