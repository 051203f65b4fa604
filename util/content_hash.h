// Content hashes for "has this input changed?" (the pipeline's stage records):
// FNV-1a 64 over the bytes, printed as "fnv1a64:<16 hex digits>". Not a
// cryptographic hash; it only has to notice edits.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace qtool {

uint64_t fnv1a64(const void* data, size_t bytes, uint64_t h = 0xcbf29ce484222325ull);
std::string hash_text(std::string_view text);
// The hash of a file's bytes (mapped, not copied); throws qtool::Error naming the file.
std::string hash_file(const std::string& path);
// A directory's hash covers its regular files' names and bytes, sorted by name
// (a checkpoint directory); a file's is hash_file.
std::string hash_path(const std::string& path);

}  // namespace qtool
