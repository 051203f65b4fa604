#include "checkpoint/hdf5_reader.h"

#include <hdf5.h>

#include <filesystem>
#include <functional>

#include "util/error.h"

namespace qtool::checkpoint {
namespace {

// Closes an HDF5 handle on every path out of a scope.
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

struct Walk {
  const std::string& file;
  Hdf5Checkpoint& out;
};

std::string dotted(const std::string& path) {
  std::string s = path;
  if (!s.empty() && s[0] == '/') s.erase(0, 1);
  for (char& c : s)
    if (c == '/') c = '.';
  return s;
}

void read_dataset(hid_t file_id, const std::string& path, const std::string& file, TensorMap& out) {
  const std::string name = dotted(path);
  auto bad = [&](const std::string& what) { fail(file, "dataset '/" + path + "': " + what); };
  Handle ds(H5Dopen2(file_id, path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) bad("cannot be opened");
  Handle dcpl(H5Dget_create_plist(ds.get()), H5Pclose);
  if (dcpl.ok() && H5Pget_external_count(dcpl.get()) > 0) bad("uses external storage, which is refused");
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_FLOAT || H5Tget_size(type.get()) != 4)
    bad("must be float32 (class " + std::to_string(int(H5Tget_class(type.get()))) + ", " +
        std::to_string(H5Tget_size(type.get())) + " bytes)");
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > 8) bad("rank " + std::to_string(rank) + " is not supported");
  hsize_t dims[8] = {};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  Tensor t;
  uint64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] > (1ull << 40) || __builtin_mul_overflow(count, dims[i], &count))
      bad("dimensions overflow");
    t.shape.push_back(static_cast<int64_t>(dims[i]));
  }
  if (count > (1ull << 34)) bad("too large");
  t.data.resize(count);
  if (count > 0 && H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data.data()) < 0)
    bad("read failed (truncated file?)");
  out.emplace(name, std::move(t));
}

// Visits every link below "/" and refuses anything that is not a hard link.
herr_t visit(hid_t group, const char* name, const H5L_info_t* info, void* data) {
  auto* w = static_cast<Walk*>(data);
  if (info->type != H5L_TYPE_HARD)
    fail(w->file, "'/" + std::string(name) + "' is a soft or external link, which is refused");
  H5O_info_t oinfo;
  if (H5Oget_info_by_name(group, name, &oinfo, H5P_DEFAULT) < 0)
    fail(w->file, "object '/" + std::string(name) + "' cannot be read");
  if (oinfo.type == H5O_TYPE_DATASET) read_dataset(group, name, w->file, w->out.tensors);
  return 0;
}

std::string read_config_attribute(hid_t file_id, const std::string& file) {
  if (H5Aexists(file_id, "config") <= 0) fail(file, "missing root attribute 'config' (config.json text)");
  Handle attr(H5Aopen(file_id, "config", H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) fail(file, "root attribute 'config' must be a string");
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    char* s = nullptr;
    if (H5Aread(attr.get(), mem.get(), &s) < 0 || !s) fail(file, "root attribute 'config' cannot be read");
    std::string out(s);
    H5free_memory(s);
    return out;
  }
  const size_t n = H5Tget_size(type.get());
  std::string out(n, '\0');
  if (H5Aread(attr.get(), type.get(), out.data()) < 0) fail(file, "root attribute 'config' cannot be read");
  out.resize(out.find('\0') == std::string::npos ? n : out.find('\0'));
  return out;
}

}  // namespace

Hdf5Checkpoint read_hdf5(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // our one-line messages only
  if (!std::filesystem::is_regular_file(path)) fail(path, "no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) fail(path, "not an HDF5 file");
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f.ok()) fail(path, "cannot be opened as HDF5 (truncated or damaged?)");
  Hdf5Checkpoint ck;
  ck.config_json = read_config_attribute(f.get(), path);
  Walk w{path, ck};
  // H5Lvisit calls back from C; errors are carried out as exceptions through a
  // wrapper that stops the walk and rethrows here.
  std::exception_ptr error;
  struct Ctx {
    Walk* w;
    std::exception_ptr* error;
  } ctx{&w, &error};
  auto cb = [](hid_t g, const char* name, const H5L_info_t* info, void* data) -> herr_t {
    auto* c = static_cast<Ctx*>(data);
    try {
      return visit(g, name, info, c->w);
    } catch (...) {
      *c->error = std::current_exception();
      return -1;
    }
  };
  herr_t st = H5Lvisit(f.get(), H5_INDEX_NAME, H5_ITER_INC, cb, &ctx);
  if (error) std::rethrow_exception(error);
  if (st < 0) fail(path, "cannot walk the file's groups (damaged?)");
  if (ck.tensors.empty()) fail(path, "holds no datasets");
  return ck;
}

}  // namespace qtool::checkpoint
