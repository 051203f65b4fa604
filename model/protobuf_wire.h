// A reader of protobuf's wire format (protobuf.dev/programming-guides/encoding),
// as much as a SentencePiece model file needs: varints, fixed32/fixed64,
// length-delimited fields, and groups, which it only skips. Every length is
// checked against the bytes that are left, so crafted input ends in
// qtool::fail(file, ...), never in a read past the end.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "util/error.h"

namespace qtool::protobuf {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

struct Field {
  uint32_t number = 0;
  WireType type = kVarint;
  uint64_t varint = 0;     // kVarint
  uint32_t fixed32 = 0;    // kFixed32 (a float's bits, little-endian on the wire)
  std::string_view bytes;  // kLengthDelimited
};

inline float as_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

class Reader {
 public:
  // `message` names the message in errors, e.g. "trainer_spec".
  Reader(std::string_view bytes, const std::string& file, std::string message)
      : bytes_(bytes), file_(file), message_(std::move(message)) {}

  // The next field, or false at the end. Groups are skipped whole, as protobuf
  // keeps them only as unknown fields.
  bool next(Field& field) {
    for (;;) {
      if (at_ == bytes_.size()) return false;
      const uint64_t tag = varint();
      const uint64_t number = tag >> 3;
      const uint32_t type = static_cast<uint32_t>(tag & 7);
      if (number == 0 || number > kMaxFieldNumber) broken("field number " + std::to_string(number));
      field = Field{};
      field.number = static_cast<uint32_t>(number);
      field.type = static_cast<WireType>(type);
      switch (type) {
        case kVarint: field.varint = varint(); return true;
        case kFixed64: take(8); return true;
        case kLengthDelimited: {
          const uint64_t size = varint();
          if (size > static_cast<uint64_t>(INT32_MAX)) broken("length " + std::to_string(size));
          field.bytes = take(static_cast<size_t>(size));
          return true;
        }
        case kFixed32: {
          const std::string_view b = take(4);
          field.fixed32 = uint32_t(uint8_t(b[0])) | uint32_t(uint8_t(b[1])) << 8 |
                          uint32_t(uint8_t(b[2])) << 16 | uint32_t(uint8_t(b[3])) << 24;
          return true;
        }
        case kStartGroup: skip_group(field.number); continue;
        default: broken("wire type " + std::to_string(type) + " of field " + std::to_string(number));
      }
    }
  }

  [[noreturn]] void broken(const std::string& what) const {
    fail(file_, "not a SentencePiece model: " + message_ + ": " + what + " at byte " + std::to_string(at_));
  }

 private:
  static constexpr uint64_t kMaxFieldNumber = (1u << 29) - 1;
  static constexpr int kMaxGroupDepth = 100;  // protobuf's own recursion limit

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (at_ == bytes_.size()) broken("truncated varint");
      const auto b = static_cast<uint8_t>(bytes_[at_++]);
      if (shift < 64) v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    broken("varint longer than 10 bytes");
  }

  std::string_view take(size_t n) {
    if (n > bytes_.size() - at_) broken("field of " + std::to_string(n) + " bytes past the end");
    const std::string_view out = bytes_.substr(at_, n);
    at_ += n;
    return out;
  }

  // Skips to the end-group tag that closes `number`, nested groups included.
  void skip_group(uint32_t number) {
    uint32_t open[kMaxGroupDepth];
    int depth = 0;
    open[depth++] = number;
    while (depth > 0) {
      if (at_ == bytes_.size()) broken("unterminated group");
      const uint64_t tag = varint();
      const uint64_t n = tag >> 3;
      if (n == 0 || n > kMaxFieldNumber) broken("field number " + std::to_string(n));
      switch (tag & 7) {
        case kVarint: varint(); break;
        case kFixed64: take(8); break;
        case kLengthDelimited: {
          const uint64_t size = varint();
          if (size > static_cast<uint64_t>(INT32_MAX)) broken("length " + std::to_string(size));
          take(static_cast<size_t>(size));
          break;
        }
        case kFixed32: take(4); break;
        case kStartGroup:
          if (depth == kMaxGroupDepth) broken("groups nested too deep");
          open[depth++] = static_cast<uint32_t>(n);
          break;
        case kEndGroup:
          if (open[depth - 1] != n) broken("end of group " + std::to_string(n) + " without its start");
          --depth;
          break;
        default: broken("wire type " + std::to_string(tag & 7));
      }
    }
  }

  std::string_view bytes_;
  size_t at_ = 0;
  const std::string& file_;
  std::string message_;
};

}  // namespace qtool::protobuf
