// `cpplm tokenize` (text → ids) and `cpplm detokenize` (ids → text) with a model's tokenizer.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/tools.h"
#include "cli_util.h"
#include "commands.h"
#include "cpplm/cpplm.h"

namespace cpplm::cli {
namespace {

// --model may be a checkpoint, a folder with only tokenizer files or a GGUF file.
std::unique_ptr<TextTokenizer> load_tokenizer(const std::string& dir) {
  if (!std::filesystem::is_directory(dir) && !is_gguf_path(dir)) throw CLI::ValidationError("--model", dir + ": no such folder");
  return TextTokenizer::load(dir);
}

// Ids separated by commas and/or whitespace, possibly spread over several arguments.
std::vector<int32_t> parse_ids(const std::vector<std::string>& args) {
  std::string all;
  for (const std::string& a : args) all += a + " ";
  for (char& c : all) {
    if (c == ',') c = ' ';
  }
  std::vector<int32_t> ids;
  std::istringstream ss(all);
  std::string tok;
  while (ss >> tok) {
    size_t pos = 0;
    long long v = -1;
    try {
      v = std::stoll(tok, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != tok.size() || v < 0 || v > INT32_MAX) throw CLI::ValidationError("IDS", "'" + tok + "' is not a token id");
    ids.push_back(static_cast<int32_t>(v));
  }
  if (ids.empty()) throw CLI::ValidationError("IDS", "no token ids given");
  return ids;
}

}  // namespace

int cmd_tokenize(int argc, char** argv) {
  CLI::App app{"Print the token ids of a text (default model: the bundled small model)", "cpplm tokenize"};
  std::string model = default_model_dir(), text, file;
  bool add_special = false, json = false;
  app.add_option("--model,-m", model, "checkpoint folder, or a folder with only tokenizer files");
  app.add_flag("--add-special-tokens", add_special, "add the tokens of the post-processor (e.g. BOS)");
  app.add_flag("--json", json, "print a JSON object {\"ids\": [...]}");
  auto* t = app.add_option("TEXT", text, "the text to tokenize, or - to read stdin");
  auto* f = app.add_option("--file,-f", file, "read the whole file as one text (- = stdin)");
  t->excludes(f);
  return run(app, argc, argv, [&]() {
    if (t->count() == 0 && f->count() == 0) throw CLI::ValidationError("TEXT", "give a TEXT, - (stdin) or --file FILE");
    const bool from_stdin = f->count() ? file == "-" : text == "-";
    const std::string input = from_stdin   ? std::string(std::istreambuf_iterator<char>(std::cin), {})
                              : f->count() ? tools::read_text_file(file)
                                           : text;
    auto tok = load_tokenizer(model);
    const std::vector<int32_t> ids = tok->encode(input, add_special);
    std::string out;
    if (json) {
      out = nlohmann::json{{"ids", ids}}.dump();
    } else {
      for (size_t k = 0; k < ids.size(); ++k) out += (k ? " " : "") + std::to_string(ids[k]);
    }
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  });
}

int cmd_detokenize(int argc, char** argv) {
  CLI::App app{"Print the text of token ids (default model: the bundled small model)", "cpplm detokenize"};
  std::string model = default_model_dir();
  std::vector<std::string> id_args;
  bool skip_special = false;
  app.add_option("--model,-m", model, "checkpoint folder, or a folder with only tokenizer files");
  app.add_flag("--skip-special-tokens", skip_special, "leave out special tokens such as BOS/EOS");
  app.add_option("IDS", id_args, "token ids, separated by commas or spaces")->required();
  return run(app, argc, argv, [&]() {
    const std::vector<int32_t> ids = parse_ids(id_args);
    auto tok = load_tokenizer(model);
    for (int32_t id : ids) {
      if (tok->piece(id).empty()) {
        throw CLI::ValidationError("IDS", "token id " + std::to_string(id) + " is not in the vocabulary (size " +
                                              std::to_string(tok->vocab_size()) + ")");
      }
    }
    std::string out = tok->decode(ids, skip_special) + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  });
}

}  // namespace cpplm::cli
