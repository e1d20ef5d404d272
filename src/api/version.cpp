// Library version string of the public API.
namespace cpplm {
const char* version() { return "0.1.0"; }
}  // namespace cpplm
