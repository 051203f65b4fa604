#include "model/qtensor.h"

namespace qtool {

const char* qtype_name(QType t) {
  switch (t) {
    case QType::f32: return "fp32";
    case QType::int8_per_channel: return "int8/channel";
    case QType::int8_per_tensor: return "int8/tensor";
  }
  return "?";
}

int qtype_bits(QType t) { return t == QType::f32 ? 32 : 8; }

}  // namespace qtool
