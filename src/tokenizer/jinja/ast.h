// Syntax tree of a parsed template: expressions and statements, each with its source offset for error messages.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace cpplm::jinja {

enum class ExprType : uint8_t {
  Const,    // value
  Name,     // name
  List,     // children = items
  Tuple,    // children = items
  Dict,     // children = key, value, key, value, ...
  Attr,     // children[0].name
  Item,     // children[0][children[1]]
  Slice,    // children[0][c1:c2:c3], absent parts are null
  Call,     // children[0](children[1..], kwargs)
  Filter,   // children[0] | name(children[1..], kwargs); children[0] null in filter blocks
  Test,     // children[0] is [not] name(children[1..], kwargs)
  Unary,    // name in {"-", "+"}
  Binary,   // children[0] name children[1]; name in + - * / // % ** ~
  Compare,  // children[0] ops[0] children[1] ops[1] children[2] ...
  And,
  Or,
  Not,
  Cond,  // children[1] if children[0] else children[2] (children[2] may be null)
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprType type = ExprType::Const;
  size_t pos = 0;
  Value value;
  std::string name;
  std::vector<ExprPtr> children;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
};

enum class StmtType : uint8_t {
  Text,         // text
  Print,        // {{ expr }}
  If,           // conds[i] -> bodies[i]; bodies.back() is the else branch when bodies.size() > conds.size()
  For,          // for target in expr [if cond] body[0] [else body[1]]
  Set,          // set target = expr
  SetBlock,     // set target [| filter] body[0] endset
  Macro,        // macro name(params) body[0]
  CallBlock,    // call[(params)] expr body[0]: body becomes caller()
  FilterBlock,  // filter expr(null operand) body[0]
  Break,
  Continue,
  Scope,  // body[0] rendered in place (generation blocks)
};

// Assignment target: a name, a tuple of names, or a namespace attribute (ns.attr).
struct Target {
  std::vector<std::string> names;
  std::string attr;  // non-empty: names[0].attr
  bool tuple = false;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null: required (undefined when missing)
};

struct Stmt {
  StmtType type = StmtType::Text;
  size_t pos = 0;
  std::string text;  // Text data, Macro name
  ExprPtr expr;      // Print, For iterable, Set value, CallBlock call, FilterBlock/SetBlock filter
  ExprPtr cond;      // For ... if cond
  std::vector<ExprPtr> conds;
  std::vector<Body> bodies;
  Target target;
  std::vector<MacroParam> params;
};

}  // namespace cpplm::jinja
