// Stop strings over streamed text: emits text as soon as it cannot be the start of a stop string.
#pragma once
#include <string>
#include <vector>

namespace cpplm {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);
  // Adds streamed text; returns what is final now. After a stop string appears, returns the
  // text before it and stopped() is true; later input is ignored.
  std::string push(const std::string& text);
  // End of generation: returns the text held back.
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace cpplm
