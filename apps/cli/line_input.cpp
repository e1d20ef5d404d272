// The chat's line input through libedit (emacs key bindings, history, ~/.editrc) or std::getline.
#include "line_input.h"

#include <histedit.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <clocale>
#include <cstdio>
#include <cwchar>
#include <iostream>

namespace cpplm::cli {
namespace {

const char* prompt(EditLine*) { return ">> "; }

// libedit's character reader, except that a read broken by SIGINT ends el_gets (-1) at once:
// the built-in one retries the read once, so a Ctrl-C at the prompt would be swallowed.
int read_char(EditLine* el, wchar_t* out) {
  void* data = nullptr;
  el_get(el, EL_CLIENTDATA, &data);
  const auto* interrupted = static_cast<const volatile std::sig_atomic_t*>(data);
  std::mbstate_t state{};
  for (;;) {
    char c;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR && !(interrupted && *interrupted)) continue;
      return -1;
    }
    wchar_t w;
    const size_t used = std::mbrtowc(&w, &c, 1, &state);
    if (used == static_cast<size_t>(-2)) continue;  // inside a multibyte character
    if (used == static_cast<size_t>(-1)) {          // not valid in the locale: skip the byte
      state = {};
      continue;
    }
    *out = used == 0 ? L'\0' : w;
    return 1;
  }
}

}  // namespace

LineInput::LineInput(const char* program, bool interactive, const volatile std::sig_atomic_t* interrupted)
    : interactive_(interactive), interrupted_(interrupted) {
  if (!interactive) return;
  std::setlocale(LC_CTYPE, "");  // multibyte (UTF-8) editing
  el_ = el_init(program, stdin, stdout, stderr);
  if (!el_) return;  // falls back to plain lines
  hist_ = history_init();
  HistEvent ev;
  history(hist_, &ev, H_SETSIZE, 1000);
  history(hist_, &ev, H_SETUNIQUE, 1);
  el_set(el_, EL_CLIENTDATA, const_cast<std::sig_atomic_t*>(interrupted_));
  el_set(el_, EL_EDITOR, "emacs");
  el_set(el_, EL_PROMPT, prompt);
  el_set(el_, EL_HIST, history, hist_);
  el_set(el_, EL_GETCFN, read_char);
  el_source(el_, nullptr);  // the user's ~/.editrc, if any
}

LineInput::~LineInput() {
  if (el_) el_end(el_);
  if (hist_) history_end(hist_);
}

LineInput::Read LineInput::next(std::string& line) {
  if (!el_) {
    if (interactive_) std::fputs(">> ", stdout), std::fflush(stdout);
    if (std::getline(std::cin, line)) return Read::kLine;
    if (interrupted_ && *interrupted_) {  // Ctrl-C at the prompt: a fresh one
      std::cin.clear();
      return Read::kInterrupted;
    }
    return Read::kEnd;
  }
  int count = 0;
  const char* text = el_gets(el_, &count);
  if (!text) return interrupted_ && *interrupted_ ? Read::kInterrupted : Read::kEnd;
  line = text;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (!line.empty()) {
    HistEvent ev;
    history(hist_, &ev, H_ENTER, line.c_str());
  }
  return Read::kLine;
}

}  // namespace cpplm::cli
