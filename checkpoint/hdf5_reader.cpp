#include "checkpoint/hdf5_reader.h"

#include <exception>
#include <optional>
#include <filesystem>
#include <vector>

#include "checkpoint/hdf5_api.h"
#include "checkpoint/hdf5_checks.h"
#include "checkpoint/reader_util.h"
#include "util/error.h"

namespace qtool::checkpoint {
namespace {

// Owns one HDF5 identifier and closes it on every path out of a scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// libhdf5 prints its whole error stack to stderr by default; during a read it
// is silenced so a failure gives only our one-line message. The caller's
// handler is restored afterwards.
class QuietHdf5Errors {
 public:
  QuietHdf5Errors() {
    hdf5().H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    hdf5().H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5Errors() { hdf5().H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietHdf5Errors(const QuietHdf5Errors&) = delete;
  QuietHdf5Errors& operator=(const QuietHdf5Errors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// The most specific message on HDF5's error stack, e.g. "truncated file: eof =
// ...", as ": <message>", or "" when there is none. Call right after the failure.
std::string hdf5_reason() {
  std::string reason;
  auto first = [](unsigned n, const H5E_error2_t* err, void* out) -> herr_t {
    if (n == 0 && err->desc) *static_cast<std::string*>(out) = err->desc;
    return 0;
  };
  hdf5().H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first, &reason);
  return reason.empty() ? "" : ": " + printable(reason);
}

std::string type_str(hid_t type) { return hdf5_type_str(hdf5().H5Tget_class(type), hdf5().H5Tget_size(type)); }

// check_dataset's questions answered from one open dataset, each on first use.
class FileDatasetFacts final : public DatasetFacts {
 public:
  explicit FileDatasetFacts(hid_t ds) : ds_(ds) {}
  int external_file_count() override {
    if (!dcpl().ok()) return -1;
    return record(hdf5().H5Pget_external_count(dcpl().get()));
  }
  H5D_layout_t layout() override { return dcpl().ok() ? record(hdf5().H5Pget_layout(dcpl().get())) : H5D_LAYOUT_ERROR; }
  bool type_readable() override { return type().ok(); }
  H5T_class_t type_class() override { return hdf5().H5Tget_class(type().get()); }
  size_t type_size() override { return hdf5().H5Tget_size(type().get()); }
  bool is_ieee_f32() override {
    return hdf5().H5Tequal(type().get(), hdf5().ieee_f32le) > 0 || hdf5().H5Tequal(type().get(), hdf5().ieee_f32be) > 0;
  }
  bool space_readable() override { return space().ok(); }
  H5S_class_t space_class() override { return hdf5().H5Sget_simple_extent_type(space().get()); }
  int rank() override { return record(hdf5().H5Sget_simple_extent_ndims(space().get())); }
  bool dims(std::span<hsize_t> out) override {
    return record(hdf5().H5Sget_simple_extent_dims(space().get(), out.data(), nullptr)) == int(out.size());
  }
  bool storage_allocated() override {
    H5D_space_status_t status;
    return record(hdf5().H5Dget_space_status(ds_, &status)) >= 0 && status == H5D_SPACE_STATUS_ALLOCATED;
  }
  int chunk_dims(std::span<hsize_t, kMaxRank> out) override {
    return record(hdf5().H5Pget_chunk(dcpl().get(), kMaxRank, out.data()));
  }
  bool stored_chunk_count(uint64_t& n) override {
    hsize_t stored = 0;
    if (record(hdf5().H5Dget_num_chunks(ds_, space().get(), &stored)) < 0) return false;
    n = stored;
    return true;
  }
  bool filtered() override { return hdf5().H5Pget_nfilters(dcpl().get()) != 0; }
  std::string reason() override { return reason_; }

 private:
  // Keeps libhdf5's reason for a failed call, before another call clears it.
  template <class T>
  T record(T result) {
    if (result < 0) reason_ = hdf5_reason();
    return result;
  }
  const Handle& open(std::optional<Handle>& h, hid_t (*get)(hid_t), herr_t (*close)(hid_t)) {
    if (!h) {
      h.emplace(get(ds_), close);
      if (!h->ok()) reason_ = hdf5_reason();
    }
    return *h;
  }
  const Handle& dcpl() { return open(dcpl_, hdf5().H5Dget_create_plist, hdf5().H5Pclose); }
  const Handle& type() { return open(type_, hdf5().H5Dget_type, hdf5().H5Tclose); }
  const Handle& space() { return open(space_, hdf5().H5Dget_space, hdf5().H5Sclose); }

  hid_t ds_;
  std::optional<Handle> dcpl_, type_, space_;
  std::string reason_;
};

// Checks storage, type and shape before allocating (check_dataset), then reads as native float.
void read_dataset(hid_t ds, const std::string& path, const std::string& file, uint64_t file_bytes,
                  TensorMap& tensors) {
  FileDatasetFacts facts(ds);
  CheckedDataset checked = check_dataset(facts, path, file, file_bytes, tensors);
  Tensor t;
  t.shape = std::move(checked.shape);
  t.data.resize(checked.count);
  if (checked.count > 0 && hdf5().H5Dread(ds, hdf5().native_float, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data.data()) < 0)
    fail(file, "dataset '/" + printable(path) + "' cannot be read" + hdf5_reason());
  tensors.emplace(std::move(checked.name), std::move(t));
}

struct Walk {
  const std::string& file;
  uint64_t file_bytes;
  TensorMap& tensors;
  std::exception_ptr error;  // carried out of the C callback, rethrown by read_hdf5
};

// One link below "/": only hard links are followed; every dataset is a tensor.
void visit(hid_t root, const std::string& path, H5L_type_t link_type, Walk& walk) {
  const std::string where = "'/" + printable(path) + "'";
  if (link_type == H5L_TYPE_SOFT) fail(walk.file, where + " is a soft link, which is refused");
  if (link_type == H5L_TYPE_EXTERNAL) fail(walk.file, where + " is an external link (to another file), which is refused");
  if (link_type != H5L_TYPE_HARD) fail(walk.file, where + " is a user-defined link, which is refused");
  // H5Oopen + H5Iget_type instead of H5Oget_info: the same code on HDF5 1.10 to 1.14.
  Handle object(hdf5().H5Oopen(root, path.c_str(), H5P_DEFAULT), hdf5().H5Oclose);
  if (!object.ok()) fail(walk.file, "object " + where + " cannot be opened" + hdf5_reason());
  switch (hdf5().H5Iget_type(object.get())) {
    case H5I_DATASET: read_dataset(object.get(), path, walk.file, walk.file_bytes, walk.tensors); break;
    case H5I_GROUP:
    case H5I_DATATYPE: break;  // groups are walked into; a named datatype holds no data
    default: fail(walk.file, "object " + where + " is neither a group nor a dataset");
  }
}

herr_t visit_link(hid_t root, const char* path, const H5L_info_t* info, void* data) noexcept {
  auto* walk = static_cast<Walk*>(data);
  try {
    visit(root, path, info->type, *walk);
    return 0;
  } catch (...) {  // exceptions must not unwind through libhdf5's C frames
    walk->error = std::current_exception();
    return -1;  // stops the walk
  }
}

std::string read_config(hid_t root, const std::string& file) {
  const std::string where = "root attribute 'config'";
  const htri_t exists = hdf5().H5Aexists(root, "config");
  if (exists < 0) fail(file, "cannot read the root group's attributes" + hdf5_reason());
  if (exists == 0) fail(file, "missing " + where + " (the text of config.json)");
  Handle attr(hdf5().H5Aopen(root, "config", H5P_DEFAULT), hdf5().H5Aclose);
  if (!attr.ok()) fail(file, where + " cannot be opened" + hdf5_reason());
  Handle type(hdf5().H5Aget_type(attr.get()), hdf5().H5Tclose);
  if (!type.ok() || hdf5().H5Tget_class(type.get()) != H5T_STRING)
    fail(file, where + " must be a string, got " + (type.ok() ? type_str(type.get()) : "an unreadable type"));
  // Exactly one string: H5Aread writes every element into the buffer it is given.
  Handle space(hdf5().H5Aget_space(attr.get()), hdf5().H5Sclose);
  const hssize_t n = space.ok() ? hdf5().H5Sget_simple_extent_npoints(space.get()) : -1;
  if (n != 1) fail(file, where + " must hold one string, not " + std::to_string(n));

  std::string text;
  const htri_t variable = hdf5().H5Tis_variable_str(type.get());
  if (variable < 0) fail(file, where + " has an unreadable string type" + hdf5_reason());
  if (variable > 0) {
    Handle mem(hdf5().H5Tcopy(hdf5().c_s1), hdf5().H5Tclose);
    if (!mem.ok() || hdf5().H5Tset_size(mem.get(), H5T_VARIABLE) < 0 ||
        hdf5().H5Tset_cset(mem.get(), hdf5().H5Tget_cset(type.get())) < 0)
      fail(file, where + ": cannot set up a string type" + hdf5_reason());
    char* s = nullptr;
    if (hdf5().H5Aread(attr.get(), mem.get(), &s) < 0) fail(file, where + " cannot be read" + hdf5_reason());
    if (s) {
      text = s;
      hdf5().H5free_memory(s);
    }
  } else {
    // Fixed length: read with the file's own type (no conversion); the text
    // ends at the first NUL (NULLTERM or NULLPAD), space padding is harmless JSON.
    std::string buf(hdf5().H5Tget_size(type.get()), '\0');
    if (hdf5().H5Aread(attr.get(), type.get(), buf.data()) < 0) fail(file, where + " cannot be read" + hdf5_reason());
    text = buf.substr(0, buf.find('\0'));
  }
  if (text.empty()) fail(file, where + " is empty");
  return text;
}

}  // namespace

Hdf5Checkpoint read_hdf5(const std::string& path) {
  try {
    hdf5();
  } catch (const Error& e) {
    fail(path, e.what());
  }
  QuietHdf5Errors quiet;
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) fail(path, "no such file");
  if (!std::filesystem::is_regular_file(status)) fail(path, "not a regular file");
  const htri_t is_hdf5 = hdf5().H5Fis_hdf5(path.c_str());
  if (is_hdf5 < 0) fail(path, "cannot be read" + hdf5_reason());
  if (is_hdf5 == 0) fail(path, "not an HDF5 file (no HDF5 signature)");

  // CLOSE_STRONG: closing the file also closes anything still open in it, a
  // second line of defence behind the handles.
  Handle fapl(hdf5().H5Pcreate(hdf5().file_access), hdf5().H5Pclose);
  if (!fapl.ok() || hdf5().H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG) < 0)
    fail(path, "cannot set up HDF5 file access" + hdf5_reason());
  Handle file(hdf5().H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), hdf5().H5Fclose);
  if (!file.ok()) fail(path, "cannot be opened as HDF5 (truncated or damaged?)" + hdf5_reason());

  Hdf5Checkpoint ck;
  ck.config_json = read_config(file.get(), path);
  Walk walk{path, std::filesystem::file_size(path, ec), ck.tensors, nullptr};
  const herr_t walked = hdf5().H5Lvisit(file.get(), H5_INDEX_NAME, H5_ITER_INC, visit_link, &walk);
  if (walk.error) std::rethrow_exception(walk.error);
  if (walked < 0) fail(path, "cannot walk the file's groups (damaged?)" + hdf5_reason());
  if (ck.tensors.empty()) fail(path, "holds no datasets");
  return ck;
}

}  // namespace qtool::checkpoint
