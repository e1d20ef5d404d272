// JSON parsing with errors that name the file: the one wrapper of nlohmann::json's parser.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"

namespace cpplm {

// Parses JSON text (Json: nlohmann::json, or nlohmann::ordered_json to keep key order). Throws
// Error "<what>: invalid JSON: <parser message>" on malformed text; `what` names the source.
template <class Json = nlohmann::json>
Json parse_json(std::string_view text, const std::string& what) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
    throw Error(what + ": invalid JSON: " + e.what());
  }
}

// Reads and parses the JSON file at `path`; errors (read_file's or parse_json's) name the path.
template <class Json = nlohmann::json>
Json parse_json_file(const std::string& path) {
  return parse_json<Json>(read_file(path), path);
}

}  // namespace cpplm
