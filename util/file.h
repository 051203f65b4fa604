// File helpers shared by every stage: whole-file reads with clear errors, and
// outputs that appear only when complete (temporary file + rename).
#pragma once
#include <cstdint>
#include <fstream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace qtool {

std::string read_text_file(const std::string& path);
std::vector<uint8_t> read_binary_file(const std::string& path);
// Lines without their '\n' (a final line without newline counts; a trailing '\r' is kept).
std::vector<std::string> read_lines(const std::string& path);

// Writes to a new temporary file beside `path` (temp_output_name: hidden, and
// marked as qtool's, so it is never taken for an output); commit() flushes,
// fsyncs and renames it over `path`. Destroyed without commit(), it removes the
// temporary file, so a failed run never leaves a partial output or touches an
// existing one. A killed process (SIGKILL, power loss) can leave only such a
// temporary file behind, never a damaged output.
class AtomicOutput {
 public:
  explicit AtomicOutput(std::string path);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  std::ostream& stream() { return out_; }
  void commit();
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }

 private:
  std::string path_, tmp_;
  char* registered_ = nullptr;  // tmp_ in the interrupt handler's table
  int fd_ = -1;
  std::unique_ptr<std::streambuf> buf_;
  std::ostream out_{nullptr};
  bool committed_ = false;
};

// True for a name AtomicOutput gives its temporary files:
// ".<output name>.qtool-tmp-<pid>-<random>" in the output's directory.
bool is_temp_output_name(const std::string& filename);

// On SIGINT, SIGTERM or SIGHUP, removes the temporary files of the outputs still
// being written, then dies of the signal as before: Ctrl-C leaves no litter.
void remove_temporaries_on_interrupt();

// Whole-file write through AtomicOutput.
void write_file_atomic(const std::string& path, const std::string& content);

// Refuses an output path that names the same file as an input, or lies in a
// directory that does not exist.
void check_distinct(const std::string& input, const std::string& output);
void check_distinct(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace qtool
