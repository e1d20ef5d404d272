// The chat's input lines: line editing and history (libedit) on a terminal, plain lines otherwise.
#pragma once
#include <csignal>
#include <string>

struct editline;
struct history;

namespace cpplm::cli {

class LineInput {
 public:
  enum class Read { kLine, kEnd, kInterrupted };

  // `interactive`: stdin and stdout are a terminal; `interrupted` is set by the caller's SIGINT
  // handler (installed without SA_RESTART), which ends a read at the prompt.
  LineInput(const char* program, bool interactive, const volatile std::sig_atomic_t* interrupted);
  ~LineInput();
  LineInput(const LineInput&) = delete;
  LineInput& operator=(const LineInput&) = delete;

  // The next line without its newline, after the prompt ">> " on a terminal. kEnd: end of input
  // (Ctrl-D); kInterrupted: Ctrl-C at the prompt (terminal only). Non-empty lines join the history.
  Read next(std::string& line);

 private:
  bool interactive_;
  const volatile std::sig_atomic_t* interrupted_;
  editline* el_ = nullptr;
  history* hist_ = nullptr;
};

}  // namespace cpplm::cli
