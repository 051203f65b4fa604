// The HDF5 reader: the bundled model.h5 equals model.safetensors bit for bit,
// and malformed files made with the HDF5 API are refused on one line.
#include <doctest/doctest.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "checkpoint/hdf5_reader.h"
#include "checkpoint/safetensors.h"
#include "tests/test_paths.h"
#include "util/error.h"

using namespace qtool;
namespace fs = std::filesystem;

namespace {

fs::path tmp(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("qtool_h5_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d / name;
}

// A file with one dataset /model/w of the given type, and optionally the config attribute.
std::string make_file(const std::string& name, hid_t type, bool with_config, bool soft_link = false) {
  const std::string path = tmp(name).string();
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t g = H5Gcreate2(f, "model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[2] = {2, 3};
  hid_t sp = H5Screate_simple(2, dims, nullptr);
  hid_t d = H5Dcreate2(g, "w", type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  double vals[6] = {1, 2, 3, 4, 5, 6};
  H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, vals);
  if (soft_link) H5Lcreate_soft("/model/w", f, "alias", H5P_DEFAULT, H5P_DEFAULT);
  if (with_config) {
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    hid_t as = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "config", st, as, H5P_DEFAULT, H5P_DEFAULT);
    const char* text = "{}";
    H5Awrite(a, st, &text);
    H5Aclose(a);
    H5Sclose(as);
    H5Tclose(st);
  }
  H5Dclose(d);
  H5Sclose(sp);
  H5Gclose(g);
  H5Fclose(f);
  return path;
}

std::string error_of(const std::string& path) {
  try {
    checkpoint::read_hdf5(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("hdf5: the bundled model.h5 equals model.safetensors bit for bit") {
  checkpoint::Hdf5Checkpoint h = checkpoint::read_hdf5(test::bundled_model() + "/model.h5");
  TensorMap s = checkpoint::read_safetensors(test::bundled_model() + "/model.safetensors");
  REQUIRE(h.tensors.size() == s.size());
  for (const auto& [name, t] : s) {
    CAPTURE(name);
    REQUIRE(h.tensors.count(name));
    const Tensor& u = h.tensors.at(name);
    CHECK(u.shape == t.shape);
    CHECK(std::memcmp(u.data.data(), t.data.data(), t.data.size() * 4) == 0);
  }
  CHECK(h.config_json.find("\"d_model\"") != std::string::npos);
}

TEST_CASE("hdf5: a small valid file reads") {
  checkpoint::Hdf5Checkpoint h = checkpoint::read_hdf5(make_file("ok.h5", H5T_IEEE_F32LE, true));
  REQUIRE(h.tensors.count("model.w"));
  CHECK(h.tensors["model.w"].data == std::vector<float>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("hdf5: malformed files are refused, naming file and dataset") {
  CHECK(error_of(make_file("noconfig.h5", H5T_IEEE_F32LE, false)).find("missing root attribute 'config'") !=
        std::string::npos);
  CHECK(error_of(make_file("f64.h5", H5T_IEEE_F64LE, true)).find("dataset '/model/w': must be float32") !=
        std::string::npos);
  CHECK(error_of(make_file("int.h5", H5T_STD_I32LE, true)).find("dataset '/model/w': must be float32") !=
        std::string::npos);
  CHECK(error_of(make_file("link.h5", H5T_IEEE_F32LE, true, true)).find("'/alias' is a soft or external link") !=
        std::string::npos);
  const std::string text = tmp("text.h5").string();
  FILE* f = std::fopen(text.c_str(), "w");
  std::fputs("not hdf5", f);
  std::fclose(f);
  CHECK(error_of(text) == text + ": not an HDF5 file");
  const std::string cut = tmp("cut.h5").string();
  fs::copy_file(test::bundled_model() + "/model.h5", cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(cut) / 2);
  const std::string e = error_of(cut);
  CHECK(e.rfind(cut + ": ", 0) == 0);
  CHECK(std::count(e.begin(), e.end(), '\n') == 0);
  CHECK(error_of(tmp("absent.h5").string()).find("no such file") != std::string::npos);
  fs::remove_all(tmp("").parent_path());
}
