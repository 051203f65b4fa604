// The HDF5 reader: the bundled model.h5 equals model.safetensors bit for bit,
// and malformed files made with the HDF5 C API are refused on one line naming
// the file and the dataset, with nothing from libhdf5 on stderr.
#include <doctest/doctest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "checkpoint/hdf5_checks.h"
#include "checkpoint/hdf5_reader.h"
#include "checkpoint/safetensors.h"
#include "tests/checkpoint/h5_writer.h"
#include "tests/test_paths.h"
#include "util/error.h"
#include "util/file.h"

using namespace qtool;
using test::H5Id;
using test::H5Writer;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test case, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("qtool_h5_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string error_of(const std::string& path) {
  try {
    checkpoint::read_hdf5(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
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
    REQUIRE(u.data.size() == t.data.size());
    CHECK(std::memcmp(u.data.data(), t.data.data(), t.data.size() * 4) == 0);
  }
  CHECK(nlohmann::json::parse(h.config_json) ==
        nlohmann::json::parse(read_text_file(test::bundled_model() + "/config.json")));
}

TEST_CASE("hdf5: a small valid file reads, in every layout the reader accepts") {
  TempDir dir;
  const std::string path = dir.file("ok.h5");
  {
    H5Writer w(path);
    w.config_fixed(R"({"d_model": 4})", 32);  // fixed-length, NUL padded
    w.dataset("model/encoder/w", H5T_IEEE_F32LE, {2, 3});
    w.dataset("model/be", H5T_IEEE_F32BE, {4});  // big-endian float32 is still float32
    w.scalar_dataset("b", 2.5f);
    w.dataset("model/empty", H5T_IEEE_F32LE, {0, 4});
    H5Id chunked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    const hsize_t chunk[2] = {2, 2};
    H5Pset_chunk(chunked, 2, chunk);
    H5Pset_deflate(chunked, 6);
    w.dataset("model/deflated", H5T_IEEE_F32LE, {3, 5}, chunked);
    H5Id named(H5Tcopy(H5T_IEEE_F32LE), H5Tclose);  // a named datatype holds no data: skipped
    REQUIRE(H5Tcommit2(w.file(), "float_type", named, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) >= 0);
  }
  checkpoint::Hdf5Checkpoint h = checkpoint::read_hdf5(path);
  CHECK(h.config_json == R"({"d_model": 4})");
  REQUIRE(h.tensors.size() == 5);
  CHECK(h.tensors["model.encoder.w"].shape == std::vector<int64_t>{2, 3});
  CHECK(h.tensors["model.encoder.w"].data == std::vector<float>{0, 0.5, 1, 1.5, 2, 2.5});
  CHECK(h.tensors["model.be"].data == std::vector<float>{0, 0.5, 1, 1.5});
  CHECK(h.tensors["b"].shape.empty());
  CHECK(bits_of(h.tensors["b"].data.at(0)) == bits_of(2.5f));
  CHECK(h.tensors["model.empty"].shape == std::vector<int64_t>{0, 4});
  CHECK(h.tensors["model.deflated"].data.at(14) == 7.0f);
}

TEST_CASE("hdf5: malformed files are refused on one line naming the file and the dataset") {
  TempDir dir;
  const std::string other = dir.file("other.h5");
  struct Case {
    const char* name;
    std::function<void(H5Writer&)> build;
    const char* expect;
  };
  auto f32 = [](H5Writer& w) { w.dataset("model/w", H5T_IEEE_F32LE, {2, 3}); };
  const std::vector<Case> cases = {
      // The root attribute "config".
      {"missing config", f32, "missing root attribute 'config' (the text of config.json)"},
      {"config not a string", [&](H5Writer& w) { f32(w), w.config_int(); }, "root attribute 'config' must be a string, got 32-bit integer"},
      // An array attribute would make H5Aread write past a single string's buffer.
      {"config of 64 strings", [&](H5Writer& w) { f32(w), w.config_strings(H5S_SIMPLE, std::vector<const char*>(64, "{}")); },
       "root attribute 'config' must hold one string, not 64"},
      {"config of 3 fixed strings", [&](H5Writer& w) { f32(w), w.config_fixed("{}", 8, 3); },
       "root attribute 'config' must hold one string, not 3"},
      {"empty config", [&](H5Writer& w) { f32(w), w.config(""); }, "root attribute 'config' is empty"},
      // Datatypes.
      {"float64 dataset", [](H5Writer& w) { w.config("{}"), w.dataset("model/w", H5T_IEEE_F64LE, {2, 3}); },
       "dataset '/model/w' is 64-bit float, expected 32-bit float"},
      {"int dataset", [](H5Writer& w) { w.config("{}"), w.dataset("model/w", H5T_STD_I32LE, {2, 3}); },
       "dataset '/model/w' is 32-bit integer, expected 32-bit float"},
      {"non-IEEE float32", [](H5Writer& w) {
         w.config("{}");
         H5Id odd(H5Tcopy(H5T_IEEE_F32LE), H5Tclose);
         H5Tset_ebias(odd, 100);
         w.dataset("model/w", odd, {2});
       }, "dataset '/model/w' is a 32-bit float in a non-IEEE layout"},
      // Links and storage outside this file.
      {"soft link", [&](H5Writer& w) {
         w.config("{}"), f32(w);
         H5Lcreate_soft("/model/w", w.file(), "alias", H5P_DEFAULT, H5P_DEFAULT);
       }, "'/alias' is a soft link, which is refused"},
      {"external link", [&](H5Writer& w) {
         w.config("{}"), f32(w);
         H5Lcreate_external("other.h5", "/w", w.file(), "ext", H5P_DEFAULT, H5P_DEFAULT);
       }, "'/ext' is an external link (to another file), which is refused"},
      {"external storage", [&](H5Writer& w) {
         w.config("{}");
         H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
         H5Pset_external(dcpl, dir.file("raw.bin").c_str(), 0, 24);
         w.dataset("model/w", H5T_IEEE_F32LE, {2, 3}, dcpl);
       }, "dataset '/model/w' keeps its data in external files, which is refused"},
      {"virtual dataset", [&](H5Writer& w) {
         w.config("{}");
         H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
         const hsize_t n = 4;
         H5Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
         REQUIRE(H5Pset_virtual(dcpl, space, other.c_str(), "/w", space) >= 0);
         w.dataset("model/v", H5T_IEEE_F32LE, {4}, dcpl, false);
       }, "dataset '/model/v' is a virtual dataset"},
      // Dataspaces and data.
      {"rank 9", [](H5Writer& w) { w.config("{}"), w.dataset("model/w", H5T_IEEE_F32LE, std::vector<hsize_t>(9, 1)); },
       "dataset '/model/w' has rank 9; at most 8 is supported"},
      {"null dataspace", [](H5Writer& w) { w.config("{}"), w.null_dataset("w"); }, "dataset '/w' has a null dataspace"},
      {"never written", [](H5Writer& w) { w.config("{}"), w.dataset("model/w", H5T_IEEE_F32LE, {2, 3}, H5P_DEFAULT, false); },
       "dataset '/model/w' has no data written for part or all of shape [2, 3]"},
      {"too many elements", [](H5Writer& w) {
         w.config("{}");
         H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
         const hsize_t chunk[2] = {1, 1};
         H5Pset_chunk(dcpl, 2, chunk);
         w.dataset("model/w", H5T_IEEE_F32LE, {1u << 20, 1u << 20}, dcpl, false);
       }, "dataset '/model/w' has shape [1048576, 1048576], too many elements"},
      // Names.
      {"two datasets, one dotted name", [](H5Writer& w) {
         w.config("{}");
         w.dataset("a.b/c", H5T_IEEE_F32LE, {1});
         w.dataset("a/b.c", H5T_IEEE_F32LE, {1});
       }, "maps to tensor name 'a.b.c', which another dataset already has"},
      {"newline in a name", [](H5Writer& w) { w.config("{}"), w.dataset("model/x\ny", H5T_IEEE_F64LE, {1}); },
       "dataset '/model/x\\x0ay' is 64-bit float"},
      {"no datasets", [](H5Writer& w) { w.config("{}"), w.group("model"); }, "holds no datasets"},
  };

  // With libhdf5's default printing on, a refused file must leave stderr empty.
  H5Eset_auto2(H5E_DEFAULT, reinterpret_cast<H5E_auto2_t>(H5Eprint2), stderr);
  const std::string err_log = dir.file("stderr.txt");
  std::fflush(stderr);
  const int saved_stderr = ::dup(2);
  REQUIRE(std::freopen(err_log.c_str(), "w", stderr) != nullptr);
  std::vector<std::pair<const Case*, std::string>> results;
  for (const Case& c : cases) {
    const std::string path = dir.file(std::string(c.name) + ".h5");
    {
      H5Writer w(path);
      c.build(w);
    }
    results.emplace_back(&c, error_of(path));
  }
  std::fflush(stderr);
  ::dup2(saved_stderr, 2);
  ::close(saved_stderr);

  for (const auto& [c, e] : results) {
    CAPTURE(c->name);
    CAPTURE(e);
    CHECK(e.rfind(dir.file(std::string(c->name) + ".h5") + ": ", 0) == 0);
    CHECK(e.find('\n') == std::string::npos);
    CHECK(e.find(c->expect) != std::string::npos);
  }
  CHECK(read_text_file(err_log).empty());
  H5E_auto2_t func = nullptr;
  void* data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &func, &data);
  const bool restored = func == reinterpret_cast<H5E_auto2_t>(H5Eprint2);
  CHECK(restored);  // the caller's handler is back
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

TEST_CASE("hdf5: files that are not HDF5, or not whole, are refused on one line") {
  TempDir dir;
  const std::string text = dir.file("text.h5");
  std::ofstream(text) << "not hdf5";
  CHECK(error_of(text) == text + ": not an HDF5 file (no HDF5 signature)");
  const std::string empty = dir.file("empty.h5");
  std::ofstream(empty).close();
  CHECK(error_of(empty).rfind(empty + ": ", 0) == 0);
  CHECK(error_of(dir.file("absent.h5")) == dir.file("absent.h5") + ": no such file");
  CHECK(error_of(dir.path.string()) == dir.path.string() + ": not a regular file");

  // Truncated copies of the real model.h5, from inside the superblock to one byte short.
  const std::string real = test::bundled_model() + "/model.h5";
  const uintmax_t size = fs::file_size(real);
  for (const uintmax_t keep : {uintmax_t(8), uintmax_t(100), uintmax_t(4096), size / 2, size - 1}) {
    CAPTURE(keep);
    const std::string cut = dir.file("cut.h5");
    fs::copy_file(real, cut, fs::copy_options::overwrite_existing);
    fs::resize_file(cut, keep);
    const std::string e = error_of(cut);
    CAPTURE(e);
    CHECK(e.rfind(cut + ": ", 0) == 0);
    CHECK(e.find('\n') == std::string::npos);
    CHECK(e != "(accepted)");
  }
}

TEST_CASE("hdf5: a dataset larger than the file is refused before its buffer is allocated") {
  // Answers a damaged file could give: a [2^20, 2^10] float32 dataset, fully
  // written, in one chunk or contiguous.
  struct Facts final : checkpoint::DatasetFacts {
    H5D_layout_t layout_ = H5D_CONTIGUOUS;
    bool filtered_ = false;
    int external_file_count() override { return 0; }
    H5D_layout_t layout() override { return layout_; }
    bool type_readable() override { return true; }
    H5T_class_t type_class() override { return H5T_FLOAT; }
    size_t type_size() override { return 4; }
    bool is_ieee_f32() override { return true; }
    bool space_readable() override { return true; }
    H5S_class_t space_class() override { return H5S_SIMPLE; }
    int rank() override { return 2; }
    bool dims(std::span<hsize_t> out) override { return out[0] = 1 << 20, out[1] = 1 << 10, true; }
    bool storage_allocated() override { return true; }
    int chunk_dims(std::span<hsize_t, checkpoint::kMaxRank> out) override { return out[0] = 1 << 20, out[1] = 1 << 10, 2; }
    bool stored_chunk_count(uint64_t& n) override { return n = 1, true; }
    bool filtered() override { return filtered_; }
    std::string reason() override { return ""; }
  } facts;
  const TensorMap none;
  CHECK_THROWS_WITH_AS(checkpoint::check_dataset(facts, "model/w", "m.h5", 1000, none),
                       "m.h5: dataset '/model/w' has shape [1048576, 1024], which needs 4294967296 bytes, but the "
                       "file has 1000",
                       Error);
  // Compressed chunks may hold far more than the file's bytes: only the element cap applies.
  facts.layout_ = H5D_CHUNKED;
  facts.filtered_ = true;
  const checkpoint::CheckedDataset d = checkpoint::check_dataset(facts, "model/w", "m.h5", 1000, none);
  CHECK(d.name == "model.w");
  CHECK(d.count == 1ull << 30);
}
