// Library version string of the public API.
#include "cpplm/cpplm.h"

namespace cpplm {
const char* version() { return CPPLM_VERSION; }  // project(cpplm VERSION ...) in CMakeLists.txt
}  // namespace cpplm
