#include "util/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <ext/stdio_filebuf.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "util/error.h"

namespace qtool {
namespace fs = std::filesystem;

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(path, "read error");
  return ss.str();
}

std::vector<uint8_t> read_binary_file(const std::string& path) {
  std::string s = read_text_file(path);
  return std::vector<uint8_t>(s.begin(), s.end());
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  if (in.bad()) fail(path, "read error");
  return lines;
}

namespace {

constexpr const char* kTempMark = ".qtool-tmp-";

// A name no other process picks: pid, a per-process counter and clock bits.
std::string temp_name_for(const fs::path& out) {
  static std::atomic<uint64_t> counter{0};
  const auto now = static_cast<unsigned long long>(std::chrono::steady_clock::now().time_since_epoch().count());
  char suffix[40];
  std::snprintf(suffix, sizeof suffix, "%llx%06llx", static_cast<unsigned long long>(counter.fetch_add(1)), now & 0xffffffull);
  const fs::path dir = out.parent_path();
  const std::string name = "." + out.filename().string() + kTempMark + std::to_string(::getpid()) + "-" + suffix;
  return (dir.empty() ? fs::path(name) : dir / name).string();
}

// So the rename survives a power loss, not only a killed process.
void sync_directory_of(const std::string& path) {
  const fs::path dir = fs::path(path).parent_path();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the data itself is already synced
  ::fsync(fd);
  ::close(fd);
}

// The temporary files being written right now, for the interrupt handler: a
// fixed table of atomic slots, because a signal handler may not lock or allocate.
constexpr int kMaxLiveTemporaries = 64;
std::atomic<char*> live_temporaries[kMaxLiveTemporaries];

char* register_temporary(const std::string& tmp) {
  char* copy = ::strdup(tmp.c_str());
  for (auto& slot : live_temporaries) {
    char* empty = nullptr;
    if (slot.compare_exchange_strong(empty, copy)) return copy;
  }
  return copy;  // table full: this one is only removed by its destructor
}

void unregister_temporary(char* p) {
  if (!p) return;
  for (auto& slot : live_temporaries) {
    char* expected = p;
    if (slot.compare_exchange_strong(expected, nullptr)) break;
  }
  std::free(p);
}

extern "C" void remove_temporaries_and_die(int sig) {
  for (auto& slot : live_temporaries)
    if (char* p = slot.load()) ::unlink(p);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

void remove_temporaries_on_interrupt() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, remove_temporaries_and_die);
}

bool is_temp_output_name(const std::string& filename) {
  return !filename.empty() && filename[0] == '.' && filename.find(kTempMark) != std::string::npos;
}

AtomicOutput::AtomicOutput(std::string path) : path_(std::move(path)) {
  if (path_.empty()) fail("(output)", "the output path is empty");
  std::error_code ec;
  if (fs::is_directory(path_, ec)) fail(path_, "is a directory; give a file name for the output");
  // O_EXCL: never truncate or share a file that already exists under that name.
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    tmp_ = temp_name_for(path_);
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) fail(path_, std::string("cannot create output: ") + std::strerror(errno));
  }
  if (fd_ < 0) fail(path_, "cannot create a temporary file beside the output");
  registered_ = register_temporary(tmp_);
  buf_ = std::make_unique<__gnu_cxx::stdio_filebuf<char>>(fd_, std::ios::out, 1 << 16);
  out_.rdbuf(buf_.get());
}

AtomicOutput::~AtomicOutput() {
  unregister_temporary(registered_);
  if (!committed_) {
    buf_.reset();  // closes fd_
    ::unlink(tmp_.c_str());
  }
}

void AtomicOutput::commit() {
  out_.flush();
  if (!out_) fail(path_, "write failed (disk full?)");
  if (::fsync(fd_) != 0) fail(path_, std::string("cannot write the output to disk: ") + std::strerror(errno));
  auto* file = static_cast<__gnu_cxx::stdio_filebuf<char>*>(buf_.get());
  if (!file->close()) fail(path_, "close failed");
  if (::rename(tmp_.c_str(), path_.c_str()) != 0)
    fail(path_, std::string("cannot rename temporary output into place: ") + std::strerror(errno));
  committed_ = true;
  sync_directory_of(path_);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  AtomicOutput out(path);
  out.stream().write(content.data(), static_cast<std::streamsize>(content.size()));
  out.commit();
}

void check_distinct(const std::string& input, const std::string& output) {
  std::error_code ec;
  // Caught before the work, not when the finished result cannot be written.
  const fs::path dir = fs::path(output).parent_path();
  if (!dir.empty() && !fs::is_directory(dir, ec))
    fail(output, "cannot write here: the directory " + dir.string() + " does not exist");
  if (fs::exists(output, ec) && fs::equivalent(input, output, ec))
    fail(output, "output is the same file as input " + input + "; refusing to overwrite it");
}

void check_distinct(const std::vector<std::string>& inputs, const std::string& output) {
  for (const std::string& in : inputs) check_distinct(in, output);
}

}  // namespace qtool
