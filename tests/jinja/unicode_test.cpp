// Case mappings and character classes of str methods and filters beyond ASCII, against Python.
// Expected strings were rendered by jinja2 3.1.6 on CPython 3.11 (jinja2 runs Python's str methods:
// full case mappings, Greek final sigma, Unicode character classes); they are pasted here so the
// test needs no Python. Invisible characters are written as \u escapes.
#include <gtest/gtest.h>

#include "tokenizer/jinja/template.h"

namespace cpplm::jinja {
namespace {

struct Case {
  const char* group;
  const char* tmpl;
  const char* expected;
};

const Case kCases[] = {
    {"full mappings",
     "{{ 'straße'.upper() }}|{{ 'ß' | upper }}|{{ 'ﬁne'.upper() }}|{{ 'ŉ'.upper() }}|{{ 'ß'.title() }}|"
     "{{ 'ßa'.capitalize() }}|{{ 'Straße'.casefold() }}|{{ 'ẞ'.lower() }}",
     "STRASSE|SS|FINE|ʼN|Ss|Ssa|strasse|ß"},
    // Σ lowercases to ς after a cased letter when no cased letter follows (case-ignorable
    // code points such as U+0301 and '.' are skipped both ways).
    {"greek",
     "{{ 'ΟΔΥΣΣΕΥΣ'.lower() }}|{{ 'ΣΑΣ ΑΣ. Σ'.lower() }}|{{ 'ΑΣ\u0301Α'.lower() }}|{{ 'άσος'.upper() }}|"
     "{{ 'ᾳ'.upper() }}|{{ 'ΑΣ ΑΣ'.title() }}|{{ 'ΑΣ ΑΣ' | title }}|{{ 'σας'.swapcase() }}",
     "οδυσσευς|σας ας. σ|ασ\u0301α|ΆΣΟΣ|ΑΙ|Ας Ας|Ασ Ασ|ΣΑΣ"},
    {"greek classes",
     "{{ 'ΑΒΓ'.isupper() }}|{{ 'αβγ'.islower() }}|{{ 'ΑβΓ'.isalpha() }}|{{ 'Ως Ήλιος'.istitle() }}|"
     "{{ 'ǅ'.isupper() }}|{{ 'ǅ' is upper }}|{{ 'ǅ'.istitle() }}",
     "True|True|True|True|False|False|True"},
    {"cyrillic",
     "{{ 'Привет, Мир'.upper() }}|{{ 'ЁЖИК'.lower() }}|{{ 'москва река'.title() }}|{{ 'ёлка' | capitalize }}|"
     "{{ 'ЯБЛОКО'.isupper() }}|{{ 'Ўзбек'.isalpha() }}|{{ 'ѣ'.upper() }}",
     "ПРИВЕТ, МИР|ёжик|Москва Река|Ёлка|True|True|Ѣ"},
    {"armenian",
     "{{ 'բարեւ'.upper() }}|{{ 'ԲԱՐԵՎ'.lower() }}|{{ 'և'.upper() }}|{{ 'և'.title() }}|{{ 'ﬓ'.upper() }}|"
     "{{ 'Հայաստան'.istitle() }}",
     "ԲԱՐԵՒ|բարեվ|ԵՒ|Եւ|ՄՆ|True"},
    // Deseret letters are 4 bytes of UTF-8 each.
    {"deseret",
     "{{ '𐐨𐐩'.upper() }}|{{ '𐐀𐐁'.lower() }}|{{ '𐐨𐐩'.title() }}|{{ '𐐨'.isalpha() }}|{{ '𐐀'.isupper() }}|"
     "{{ '𐐨'.islower() }}|{{ '𐐨𐐩' | length }}|{{ '𐐨𐐩'[1] | upper }}",
     "𐐀𐐁|𐐨𐐩|𐐀𐐩|True|True|True|2|𐐁"},
    // İ lowercases to i + U+0307 (two code points); ı uppercases to I.
    {"turkish",
     "{{ 'İ'.lower() }}|{{ 'İ'.lower() | length }}|{{ 'İstanbul' | lower }}|{{ 'ı'.upper() }}|{{ 'i'.upper() }}|"
     "{{ 'İ'.casefold() | length }}|{{ 'İ'.isupper() }}",
     "i\u0307|2|i\u0307stanbul|I|I|2|True"},
    // str.title and capitalize titlecase (ǅ); the |title filter uppercases the first letter (Ǆ).
    {"titlecase digraphs",
     "{{ 'ǆemal'.title() }}|{{ 'ǆemal'.capitalize() }}|{{ 'ǆemal' | title }}|{{ 'ǅ'.lower() }}|{{ 'ǅ'.upper() }}",
     "ǅemal|ǅemal|Ǆemal|ǆ|Ǆ"},
    {"classes",
     "{{ '٣٤'.isdigit() }}|{{ '²'.isdigit() }}|{{ '²'.isdecimal() }}|{{ '½'.isnumeric() }}|{{ '½'.isdigit() }}|"
     "{{ 'Ⅻ'.isnumeric() }}|{{ '\u3000\u2003'.isspace() }}|{{ '\u200b'.isspace() }}|{{ 'ab1'.isalnum() }}|"
     "{{ 'ª'.islower() }}|{{ 'Ⅰ'.isupper() }}|{{ 'ⓐ' is lower }}|{{ ''.isalpha() }}|{{ ''.isprintable() }}|"
     "{{ 'a\u00ad'.isprintable() }}",
     "True|True|False|True|False|True|True|False|True|True|True|True|False|True|False"},
    // \w is what str.isalnum accepts, plus '_'.
    {"wordcount", "{{ 'héllo wörld_1 ² ٣' | wordcount }}|{{ 'a–b' | wordcount }}", "4|2"},
};

TEST(JinjaUnicode, MatchesPython) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(std::string(c.group) + ": " + c.tmpl);
    std::string got;
    try {
      got = Template(c.tmpl).render(nlohmann::ordered_json::object());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "threw: " << e.what();
      continue;
    }
    EXPECT_EQ(got, c.expected);
  }
}

// Invalid UTF-8 bytes pass through case mappings unchanged (Python's surrogateescape).
TEST(JinjaUnicode, InvalidBytesSurvive) {
  const std::string bad = "a\xff\xc3(b";
  EXPECT_EQ(Template("{{ s.upper() }}|{{ s | length }}").render(nlohmann::json{{"s", bad}}), "A\xff\xc3(B|5");
}

}  // namespace
}  // namespace cpplm::jinja
