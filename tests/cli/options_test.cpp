// The command line's options end to end: ranges and their messages, help defaults, --version,
// warnings, stdin and directories as input, chat on a terminal, convert's files, progress lines.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/file_io.h"
#include "cpplm/cpplm.h"

#include "run_cli.h"

namespace {

using namespace cli_test;

namespace fs = std::filesystem;

// One step of a terminal run: wait until the output (after the previous step's match) shows
// `wait_for`, then type `keys`.
struct Step {
  std::string wait_for, keys;
};

// Runs `cpplm ARGS` on a pseudo-terminal (its stdin, stdout and stderr), plays `steps`, then reads
// until it exits. `out` is everything the terminal showed; a run past `timeout` is killed (-1).
Result on_terminal(const std::string& args, const std::vector<Step>& steps,
                   std::chrono::seconds timeout = std::chrono::seconds(120)) {
  struct winsize ws {};
  ws.ws_row = 24, ws.ws_col = 100;
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
  if (pid == 0) {
    setenv("TERM", "xterm", 1);
    execl("/bin/sh", "sh", "-c", ("exec " + std::string(CPPLM_CLI) + " " + args).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  Result r{-1, "", ""};
  if (pid < 0) return r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t step = 0, seen = 0;
  bool open = true;
  while (open && std::chrono::steady_clock::now() < deadline) {
    if (step < steps.size()) {
      const size_t at = r.out.find(steps[step].wait_for, seen);
      if (at != std::string::npos) {
        seen = at + steps[step].wait_for.size();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the prompt settle into its read
        if (write(master, steps[step].keys.data(), steps[step].keys.size()) < 0) break;
        ++step;
        continue;
      }
    }
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) open = false;  // EIO once the child's side is closed
    else r.out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  if (open) kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  close(master);
  if (!open && WIFEXITED(status)) r.code = WEXITSTATUS(status);
  return r;
}

std::string fresh_dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + name + "_" + std::to_string(::getpid());
  fs::remove_all(dir);
  return dir;
}

struct BadCase {
  std::string args, needle;
};

// A usage error: exit 2, nothing on stdout, one line on stderr naming the option and its range
// in plain numbers (no 300-digit bound), and the hint to --help.
void expect_usage_error(const BadCase& c) {
  Result r = run_cpplm(c.args);
  EXPECT_EQ(r.code, 2) << c.args << "\n" << r.err;
  EXPECT_TRUE(r.out.empty()) << c.args;
  EXPECT_TRUE(has(r.err, c.needle)) << c.args << ": " << r.err;
  EXPECT_TRUE(has(r.err, "--help")) << c.args << ": " << r.err;
  EXPECT_LT(r.err.size(), 200u) << c.args << ": " << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << c.args << ": " << r.err;
}

TEST(Options, NumericRangesAreReadable) {
  const std::vector<BadCase> cases = {
      {"generate --max-tokens -5 --prompt hi", "--max-tokens: must be an integer from 0 to 16777216, got '-5'"},
      {"generate --max-kv-size 0 --prompt hi", "--max-kv-size: must be an integer from 1 to 2147483647, got '0'"},
      {"generate --top-k -1 --prompt hi", "--top-k: must be an integer from 0 to 2147483647, got '-1'"},
      {"generate --top-p 0 --prompt hi", "--top-p: must be a number > 0 and <= 1, got '0'"},
      {"generate --top-p 1.5 --prompt hi", "--top-p: must be a number > 0 and <= 1"},
      {"generate --min-p 2 --prompt hi", "--min-p: must be a number from 0 to 1, got '2'"},
      {"generate --temp -1 --prompt hi", "--temp: must be a number >= 0, got '-1'"},
      {"generate --repetition-penalty 0 --prompt hi", "--repetition-penalty: must be a number > 0, got '0'"},
      {"generate --repetition-context-size -3 --prompt hi", "--repetition-context-size: must be an integer from 0"},
      {"generate --max-tokens 1e3 --prompt hi", "--max-tokens: must be an integer"},
      {"generate -t -2 --prompt hi", "--threads: must be an integer from 0 to 1024, got '-2'"},
      {"chat --max-tokens -5", "--max-tokens: must be an integer from 0 to 16777216"},
      {"chat --max-kv-size 0", "--max-kv-size: must be an integer from 1"},
      {"bench -t -1", "--threads: must be an integer from 0 to 1024"},
      {"bench -r 0", "--repetitions"},
      {"bench -p -4", "'-4' is not a count from 0 to 16777216"},
      {"convert --model " + kModel + " --out /nonexistent/x -t -1", "--threads: must be an integer from 0 to 1024"},
      {"convert --model " + kModel + " --out /nonexistent/x --q-bits 7", "--q-bits"},
  };
  for (const auto& c : cases) expect_usage_error(c);
}

TEST(Options, NonFiniteNumbersAreRejectedAsSuch) {
  for (const std::string opt : {"--temp inf", "--top-p nan", "--min-p inf", "--repetition-penalty nan", "--temp -inf"}) {
    const std::string name = opt.substr(0, opt.find(' '));
    expect_usage_error({"generate " + opt + " --prompt hi", name + ": must be a finite number, got '"});
    expect_usage_error({"chat " + opt, name + ": must be a finite number"});
  }
}

// The help shows each default the command really uses; --max-tokens: generate 100 (mlx_lm.generate),
// chat 256 (mlx_lm.chat).
TEST(Options, HelpShowsTheRealDefaults) {
  Result g = run_cpplm("generate --help"), c = run_cpplm("chat --help");
  ASSERT_EQ(g.code, 0);
  ASSERT_EQ(c.code, 0);
  EXPECT_TRUE(has(g.out, "--max-tokens INT:[0, 16777216]=100")) << g.out;
  EXPECT_TRUE(has(c.out, "--max-tokens INT:[0, 16777216]=256")) << c.out;
  EXPECT_EQ(cpplm::GenerationConfig{}.max_tokens, 256);
  for (const std::string& help : {g.out, c.out}) {
    EXPECT_TRUE(has(help, "--temp FLOAT:>= 0=0 ")) << help;
    EXPECT_TRUE(has(help, "--top-p FLOAT:(0, 1]=1 ")) << help;
    EXPECT_TRUE(has(help, "--seed UINT:[0, 2^64-1]=0 ")) << help;
    EXPECT_TRUE(has(help, "--threads INT:[0, 1024]=0")) << help;
    EXPECT_TRUE(has(help, "--version")) << help;
  }
  // generate really stops at 100 tokens: the random-weight checkpoint never samples its EOS here.
  Result r = run_cpplm("generate --model " + std::string(CPPLM_TEST_DATA) +
                       "/hf-reference/llama2-mha-f32 --prompt-tokens 3,17,42 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "\"generation_tokens\":100")) << r.out;
}

TEST(Options, SeedIsDocumentedAndNeverWraps) {
  Result h = run_cpplm("generate --help");
  EXPECT_TRUE(has(h.out, "random seed for sampling: an integer from 0 to 2^64-1 (negative is an error)")) << h.out;
  expect_usage_error({"generate --seed -1 --prompt hi", "--seed: must be an integer from 0 to 18446744073709551615, got '-1'"});
  expect_usage_error(
      {"generate --seed 18446744073709551616 --prompt hi", "--seed: must be an integer from 0 to 18446744073709551615"});
  expect_usage_error({"bench --seed -1", "--seed: must be an integer from 0 to 18446744073709551615"});
  Result ok = run_cpplm("generate --seed 18446744073709551615 --temp 1 -n 2 --ignore-chat-template --prompt hi");
  EXPECT_EQ(ok.code, 0) << ok.err;
}

TEST(Options, MoreThreadsThanCoresWarnOnce) {
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores == 0 || cores >= 1024) GTEST_SKIP() << "core count unknown or too large to exceed";
  const std::string t = std::to_string(cores + 1);
  Result r = run_cpplm("generate -t " + t + " -n 2 --ignore-chat-template --prompt hi");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string warning = "cpplm generate: warning: --threads " + t + " is more than the " + std::to_string(cores) + " cores";
  EXPECT_TRUE(has(r.err, warning)) << r.err;
  EXPECT_EQ(r.err.find(warning), r.err.rfind(warning)) << r.err;
  Result quiet = run_cpplm("generate -t " + std::to_string(cores) + " -n 2 --ignore-chat-template --prompt hi");
  EXPECT_FALSE(has(quiet.err, "warning")) << quiet.err;
}

TEST(Options, EveryCommandAnswersVersion) {
  const std::string want = std::string("cpplm ") + cpplm::version() + "\n";
  for (const std::string cmd : {"", "generate ", "chat ", "perplexity ", "tokenize ", "detokenize ", "bench ", "convert "}) {
    Result r = run_cpplm(cmd + "--version");
    EXPECT_EQ(r.code, 0) << cmd << r.err;
    EXPECT_EQ(r.out, want) << cmd;
    EXPECT_TRUE(r.err.empty()) << cmd << r.err;
  }
}

// The raw prompt is what generate runs with --ignore-chat-template: --system is dropped, and says so.
TEST(Options, SystemWithoutATemplateWarnsThatItIsDropped) {
  const std::string args = "generate --ignore-chat-template --temp 0 -n 8 --prompt 'In the beginning God'";
  Result plain = run_cpplm(args), sys = run_cpplm(args + " --system 'Be brief.'");
  ASSERT_EQ(sys.code, 0) << sys.err;
  EXPECT_EQ(sys.out, plain.out);
  EXPECT_TRUE(has(sys.err, "cpplm generate: warning: --system is dropped (--ignore-chat-template")) << sys.err;
  EXPECT_FALSE(has(plain.err, "warning")) << plain.err;
  Result tokens = run_cpplm("generate -n 2 --prompt-tokens 1,2 --system x");
  EXPECT_TRUE(has(tokens.err, "--system is dropped (--prompt-tokens")) << tokens.err;
}

TEST(Options, TokenizeReadsStdinLikeGenerate) {
  const std::string text = "In the beginning God created the heaven and the earth.\n";
  Result direct = run_cpplm("tokenize '" + text + "'");
  ASSERT_EQ(direct.code, 0) << direct.err;
  Result dash = run_cpplm("tokenize -", text), file_dash = run_cpplm("tokenize --file -", text);
  EXPECT_EQ(dash.code, 0) << dash.err;
  EXPECT_EQ(dash.out, direct.out);
  EXPECT_EQ(file_dash.out, direct.out);
}

// A folder where a file belongs is one clear line naming it, with the command's exit code for bad
// input; no stream error text leaks.
TEST(Options, FileOptionsGivenADirectory) {
  const std::string dir = fresh_dir("cpplm_options_dir");
  fs::create_directories(dir + "/sub");
  const std::string file = dir + "/plain.txt";
  std::ofstream(file) << "text";
  const std::vector<std::pair<BadCase, int>> cases = {
      {{"tokenize --file " + dir, dir + ": is a directory"}, 1},
      {{"perplexity --file " + dir, dir + ": is a directory"}, 1},
      {{"bench --shape " + dir, dir + ": is a directory"}, 1},
      {{"generate --chat-template " + dir + "/sub --prompt hi", dir + "/sub"}, 1},
      {{"generate --model " + file + " --prompt hi", file + ": not a folder"}, 2},
      {{"tokenize --model " + file + " hi", file}, 2},
      {{"convert --model " + file + " --out " + dir + "/out", file + ": not a folder"}, 2},
      {{"convert --model " + kModel + " --out " + file, file + ": exists and is not a folder"}, 1},
  };
  for (const auto& [c, code] : cases) {
    Result r = run_cpplm(c.args);
    EXPECT_EQ(r.code, code) << c.args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args << ": " << r.out;
    EXPECT_TRUE(has(r.err, c.needle)) << c.args << ": " << r.err;
    EXPECT_FALSE(has(r.err, "basic_filebuf")) << c.args << ": " << r.err;
    EXPECT_FALSE(has(r.err, "filesystem error")) << c.args << ": " << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << c.args << ": " << r.err;
  }
  fs::remove_all(dir);
}

// convert writes config.json, the weights and the tokenizer/template/generation files, nothing else
// of the folder; piped, it prints no progress.
TEST(Options, ConvertWritesOnlyTheModelsFiles) {
  const std::string in = fresh_dir("cpplm_convert_in"), out = fresh_dir("cpplm_convert_out");
  fs::copy(kModel, in, fs::copy_options::recursive);
  std::ofstream(in + "/notes.md") << "not part of the model";
  fs::create_directories(in + "/extra");
  Result r = run_cpplm("convert --model " + in + " --out " + out + " --dtype f16");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_EQ(r.out, "wrote " + out + "\n");
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(out)) files.insert(e.path().filename().string());
  const std::set<std::string> want = {"config.json",           "model.safetensors",   "tokenizer.json",
                                      "tokenizer_config.json", "chat_template.jinja", "generation_config.json"};
  EXPECT_EQ(files, want);
  for (const std::string f : {"tokenizer.json", "chat_template.jinja", "generation_config.json"})
    EXPECT_EQ(cpplm::read_file(out + "/" + f), cpplm::read_file(in + "/" + f)) << f;
  Result g = run_cpplm("generate --model " + out + " --ignore-chat-template -n 4 --prompt 'In the beginning God'");
  EXPECT_EQ(g.code, 0) << g.err;
  fs::remove_all(in);
  fs::remove_all(out);
}

TEST(Options, ConvertShowsProgressOnATerminal) {
  const std::string out = fresh_dir("cpplm_convert_tty");
  Result r = on_terminal("convert --model " + kModel + " --out " + out + " --quantize --q-bits 8", {});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, " tensors, ")) << r.out;
  EXPECT_TRUE(has(r.out, " MiB; writing]")) << r.out;
  EXPECT_TRUE(has(r.out, "wrote " + out)) << r.out;
  fs::remove_all(out);
}

TEST(Options, BenchShowsRunsOnATerminalOnly) {
  const std::string args = "bench --device cpu -p 8 -n 4 -r 2 --no-bandwidth";
  Result piped = run_cpplm(args);
  ASSERT_EQ(piped.code, 0) << piped.err;
  EXPECT_FALSE(has(piped.err, "run 1/2")) << piped.err;
  EXPECT_FALSE(has(piped.err, "\r")) << piped.err;
  Result tty = on_terminal(args, {});
  EXPECT_EQ(tty.code, 0) << tty.out;
  EXPECT_TRUE(has(tty.out, "[pp8: run 2/2]")) << tty.out;
  EXPECT_TRUE(has(tty.out, "[tg4: run 1/2]")) << tty.out;
  EXPECT_TRUE(has(tty.out, "| tg4 |")) << tty.out;
}

// On a terminal: line editing (a backspace), history (Ctrl-P recalls the last message), Ctrl-C at
// the prompt gives a fresh prompt, Ctrl-D ends with a newline and exit 0.
TEST(Options, ChatOnATerminalEditsRecallsAndEndsOnCtrlD) {
  const std::string tmpl = std::string(CPPLM_TOKENIZER_DATA) + "/llama3_1";
  Result r = on_terminal("chat --verbose --max-tokens 3 --chat-template " + tmpl,
                         {{">> ", "Hellx\x7fo\r"}, {">> ", "\x10\r"}, {">> ", "\x03"}, {">> ", "\x04"}});
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string turn = "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>";
  // Each rendered prompt is printed (verbose) with "\r\n" line ends on the terminal.
  std::string shown = r.out;
  for (size_t p; (p = shown.find("\r\n")) != std::string::npos;) shown.erase(p, 1);
  size_t first = shown.find(turn), second = first == std::string::npos ? first : shown.find(turn, first + 1);
  EXPECT_NE(first, std::string::npos) << r.out;
  EXPECT_NE(second, std::string::npos) << "Ctrl-P did not recall the message: " << r.out;
  EXPECT_FALSE(has(shown, "Hellx<|eot_id|>")) << r.out;
  // The last prompt is followed by libedit's "^D" and a newline, nothing else.
  const size_t last = shown.rfind(">> ");
  ASSERT_NE(last, std::string::npos);
  EXPECT_EQ(shown.find('\n', last), shown.size() - 1) << r.out;
}

// A prompt of several prefill chunks shows its progress on a terminal, never in a pipe.
TEST(Options, GenerateShowsPromptProgressOnATerminalOnly) {
  std::string words;
  for (int i = 0; i < 700; ++i) words += "word ";
  const std::string args = "generate --ignore-chat-template --max-tokens 2 --prompt " + quote(words);
  Result t = on_terminal(args, {});
  EXPECT_EQ(t.code, 0) << t.out;
  EXPECT_TRUE(has(t.out, "[prompt: 512 / ")) << t.out;
  Result p = run_cpplm(args);
  EXPECT_EQ(p.code, 0) << p.err;
  EXPECT_FALSE(has(p.err, "[prompt:")) << p.err;
}

TEST(Options, ChatFromAPipeEndsAtEndOfInput) {
  Result r = run_cpplm("chat --max-tokens 2", "Hello\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(has(r.out, ">> ")) << r.out;
}

}  // namespace
