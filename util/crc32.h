// CRC-32 (IEEE 802.3, the zlib polynomial), for the checksum of each .qtm section.
#pragma once
#include <cstddef>
#include <cstdint>

namespace qtool {
uint32_t crc32(const void* data, size_t bytes, uint32_t crc = 0);
}
