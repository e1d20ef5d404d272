// Recursive-descent parser from tokens to the syntax tree, following jinja2's parser.py grammar and precedence.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace cpplm::jinja {

// Parses a token stream; throws cpplm::Error("name:line:col: ...") on syntax errors, unknown
// tags, and unknown filters or tests outside `if` branches (where jinja2 also fails at compile time).
Body parse_template(const std::vector<Token>& tokens, const SourceMap& map, int max_depth);

// AST node constructors shared by the parser files.
inline ExprPtr make(ExprType type, size_t pos) {
  auto e = std::make_unique<Expr>();
  e->type = type;
  e->pos = pos;
  return e;
}

inline ExprPtr make2(ExprType type, size_t pos, std::string name, ExprPtr a, ExprPtr b) {
  auto e = make(type, pos);
  e->name = std::move(name);
  e->children.push_back(std::move(a));
  e->children.push_back(std::move(b));
  return e;
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const SourceMap& map, int max_depth)
      : toks_(tokens), map_(map), max_depth_(max_depth) {}
  Body parse();

 private:
  friend struct DepthGuardP;
  // Statements (parser_stmt.cpp).
  Body subparse(const std::vector<std::string>& end_names, size_t open_pos, const char* tag);
  void parse_statement(Body& body);
  StmtPtr parse_for(size_t pos);
  StmtPtr parse_if(size_t pos);
  StmtPtr parse_set(size_t pos);
  StmtPtr parse_macro(size_t pos);
  StmtPtr parse_call_block(size_t pos);
  StmtPtr parse_filter_block(size_t pos);
  Body parse_statements(const std::vector<std::string>& end_names, size_t open_pos, const char* tag, bool drop_needle);
  Target parse_target(bool for_loop);
  void parse_params(std::vector<MacroParam>& params);
  void validate(const Body& body, bool soft) const;
  void validate_expr(const Expr* e, bool soft) const;

  // Expressions (parser_expr.cpp).
  ExprPtr parse_tuple(bool simplified, bool with_condexpr, const char* extra_end, bool explicit_parens);
  ExprPtr parse_expression(bool with_condexpr = true);
  ExprPtr parse_condexpr();
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_filter_expr(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr node);
  ExprPtr parse_subscribed();
  ExprPtr parse_filter(ExprPtr node, bool start_inline);
  ExprPtr parse_test(ExprPtr node);
  void parse_call_args(Expr& call);
  ExprPtr parse_list();
  ExprPtr parse_dict();

  // Token stream helpers.
  const Token& cur() const { return toks_[i_]; }
  const Token& peek(size_t k = 1) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }
  bool is_op(const char* op) const { return cur().type == Tok::Op && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == Tok::Name && cur().text == name; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* name) {
    if (!is_name(name)) return false;
    next();
    return true;
  }
  void expect_op(const char* op);
  std::string expect_name();
  void expect_block_end();
  bool is_tuple_end(const char* extra_end) const;
  [[noreturn]] void fail(size_t pos, const std::string& msg) const;
  [[noreturn]] void fail_here(const std::string& expected) const;
  static std::string describe(const Token& t);
  void enter(size_t pos);
  void leave() { --depth_; }

  const std::vector<Token>& toks_;
  const SourceMap& map_;
  size_t i_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;  // break/continue are only valid inside a for body
  int max_depth_;
};

// Counts nesting (blocks and expressions) so hostile templates cannot exhaust the stack.
struct DepthGuardP {
  Parser& p;
  DepthGuardP(Parser& parser, size_t pos) : p(parser) { p.enter(pos); }
  ~DepthGuardP() { p.leave(); }
};

}  // namespace cpplm::jinja
