// Library version string of the public API.
#include "cpplm/cpplm.h"

namespace cpplm {
const char* version() { return "0.1.0"; }
}  // namespace cpplm
