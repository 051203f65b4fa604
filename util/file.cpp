#include "util/file.h"

#include <atomic>
#include <csignal>
#include <cstdlib>

#include <unistd.h>

#include <cerrno>
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

AtomicOutput::AtomicOutput(std::string path) : path_(std::move(path)) {
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) fail(path_, std::string("cannot create output: ") + std::strerror(errno));
  registered_ = register_temporary(tmp_);
}

AtomicOutput::~AtomicOutput() {
  unregister_temporary(registered_);
  if (!committed_) {
    out_.close();
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
}

void AtomicOutput::commit() {
  out_.flush();
  if (!out_) fail(path_, "write failed (disk full?)");
  out_.close();
  if (!out_) fail(path_, "close failed");
  std::error_code ec;
  fs::rename(tmp_, path_, ec);
  if (ec) fail(path_, "cannot rename temporary output into place: " + ec.message());
  committed_ = true;
}

void write_file_atomic(const std::string& path, const std::string& content) {
  AtomicOutput out(path);
  out.stream().write(content.data(), static_cast<std::streamsize>(content.size()));
  out.commit();
}

void check_distinct(const std::string& input, const std::string& output) {
  std::error_code ec;
  if (fs::exists(output, ec) && fs::equivalent(input, output, ec))
    fail(output, "output is the same file as input " + input + "; refusing to overwrite it");
}

}  // namespace qtool
