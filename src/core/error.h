// Error type for boundaries (files, configs, user input): messages name the file, tensor, field or value.
#pragma once
#include <stdexcept>
#include <string>

namespace cpplm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Checked invariant inside the library (a bug if it fires, not a user error).
#define CPPLM_CHECK(cond, msg)                                                                        \
  do {                                                                                                \
    if (!(cond)) throw ::cpplm::Error(std::string("internal check failed: ") + #cond + ": " + (msg)); \
  } while (0)

}  // namespace cpplm
