#include "util/error.h"

namespace qtool {

Error::~Error() = default;

}  // namespace qtool
