// UTF-8 helpers for the tokenizer: decoding, lossy repair, character classes, GPT-2 byte mapping.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cpplm::tok {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the code point starting at s[i] into cp. Returns its byte length (1..4),
// or 0 when s[i..] does not start with a valid, complete UTF-8 sequence.
size_t utf8_decode(std::string_view s, size_t i, char32_t& cp);

// Length of the UTF-8 sequence that starts at s[i], assuming s is valid UTF-8.
inline size_t utf8_len_at(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

bool utf8_valid(std::string_view s);

// Replaces every maximal invalid subsequence by U+FFFD, as Rust's String::from_utf8_lossy
// and Python's errors="replace" do.
std::string utf8_lossy(std::string_view s);

bool is_whitespace(char32_t cp);  // Unicode White_Space (Rust char::is_whitespace, regex \s)
bool is_word_char(char32_t cp);   // regex \w: letters, marks, numbers, connector punctuation
bool is_alphanumeric(char32_t cp);
bool is_numeric(char32_t cp);  // Unicode Nd, Nl, No (Rust char::is_numeric)

// GPT-2 bytes_to_unicode: each byte maps to one printable code point, stored as UTF-8.
const std::array<std::string, 256>& byte_to_unicode();
// Inverse of byte_to_unicode: the byte for a code point, or -1 when it is not in the table.
int unicode_to_byte(char32_t cp);

}  // namespace cpplm::tok
