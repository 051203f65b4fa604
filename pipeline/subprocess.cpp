#include "pipeline/subprocess.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "util/error.h"

namespace qtool::pipeline {
namespace {
std::string read_all(int fd) {
  std::string s;
  std::array<char, 65536> buf;
  for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    s.append(buf.data(), size_t(n));
  }
  return s;
}
}  // namespace

std::string run_self(const std::vector<std::string>& args, bool show_stderr) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<char*> argv{const_cast<char*>(self.c_str())};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int out[2], err[2];
  if (::pipe(out) != 0 || ::pipe(err) != 0) throw Error("cannot create a pipe for a child qtool");
  const pid_t pid = ::fork();
  if (pid < 0) throw Error("cannot start a child qtool");
  if (pid == 0) {
    ::dup2(out[1], 1);
    if (!show_stderr) ::dup2(err[1], 2);
    ::close(out[0]), ::close(out[1]), ::close(err[0]), ::close(err[1]);
    ::execv(self.c_str(), argv.data());
    _exit(127);
  }
  ::close(out[1]), ::close(err[1]);
  // stderr is small (errors only, with --quiet); reading stdout first cannot deadlock on it.
  std::string stdout_text = read_all(out[0]), stderr_text = read_all(err[0]);
  ::close(out[0]), ::close(err[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!stderr_text.empty() && stderr_text.back() == '\n') stderr_text.pop_back();
    const size_t nl = stderr_text.rfind('\n');
    std::string cmd = "qtool";
    for (const std::string& a : args) cmd += " " + a;
    if (show_stderr) throw Error(cmd + " failed (its error is above)");
    throw Error(cmd + " failed: " + (nl == std::string::npos ? stderr_text : stderr_text.substr(nl + 1)));
  }
  return stdout_text;
}

}  // namespace qtool::pipeline
