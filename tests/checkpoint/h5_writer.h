// Builds small HDF5 files with the C API for the reader's tests, valid and
// malformed. Every identifier is closed by its owner, also when a check fails.
#pragma once
#include <doctest/doctest.h>
#include <hdf5.h>

#include <string>
#include <vector>

namespace qtool::test {

class H5Id {
 public:
  H5Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) { REQUIRE(id >= 0); }
  ~H5Id() { close_(id_); }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  operator hid_t() const { return id_; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

class H5Writer {
 public:
  explicit H5Writer(const std::string& path) : file_(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose) {}
  hid_t file() const { return file_; }

  // Root attribute "config" as one variable-length UTF-8 string, like model.h5.
  void config(const char* text) { config_strings(H5S_SCALAR, {text}); }
  // `n` variable-length strings in one attribute (a malformed config).
  void config_strings(H5S_class_t space_class, const std::vector<const char*>& texts) {
    H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    const hsize_t n = texts.size();
    H5Id space(space_class == H5S_SCALAR ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), H5Sclose);
    H5Id attr(H5Acreate2(file_, "config", type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    REQUIRE(H5Awrite(attr, type, texts.data()) >= 0);
  }
  // Root attribute "config" as fixed-length strings of `size` bytes, NUL padded.
  void config_fixed(const std::string& text, size_t size, hsize_t count = 1) {
    H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, size);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    H5Id space(count == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &count, nullptr), H5Sclose);
    H5Id attr(H5Acreate2(file_, "config", type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    std::vector<char> buf(size * count, '\0');
    for (hsize_t i = 0; i < count; ++i) text.copy(buf.data() + i * size, size);
    REQUIRE(H5Awrite(attr, type, buf.data()) >= 0);
  }
  void config_int() {
    H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
    H5Id attr(H5Acreate2(file_, "config", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    const int v = 1;
    REQUIRE(H5Awrite(attr, H5T_NATIVE_INT, &v) >= 0);
  }

  // A dataset at `path` (groups made on the way) of file type `type`, holding
  // 0, 0.5, 1, ... converted from double; `write` false leaves it unwritten.
  void dataset(const std::string& path, hid_t type, const std::vector<hsize_t>& dims, hid_t dcpl = H5P_DEFAULT,
               bool write = true) {
    H5Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Id space(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose);
    H5Id ds(H5Dcreate2(file_, path.c_str(), type, space, lcpl, dcpl, H5P_DEFAULT), H5Dclose);
    if (!write) return;
    hsize_t n = 1;
    for (hsize_t d : dims) n *= d;
    std::vector<double> values(n);
    for (hsize_t i = 0; i < n; ++i) values[i] = 0.5 * double(i);
    REQUIRE(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  }
  void scalar_dataset(const std::string& path, float value) {
    H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
    H5Id ds(H5Dcreate2(file_, path.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
    REQUIRE(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) >= 0);
  }
  void null_dataset(const std::string& path) {
    H5Id space(H5Screate(H5S_NULL), H5Sclose);
    H5Id ds(H5Dcreate2(file_, path.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  }
  void group(const std::string& path) { H5Id g(H5Gcreate2(file_, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose); }

 private:
  H5Id file_;
};

}  // namespace qtool::test
