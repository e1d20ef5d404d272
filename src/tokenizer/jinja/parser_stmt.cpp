// Statement grammar: template data, {{ }}, and the tags for/if/set/macro/call/filter/break/continue/generation.
#include "core/error.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/parser.h"

namespace cpplm::jinja {

namespace {

StmtPtr make_stmt(StmtType type, size_t pos) {
  auto s = std::make_unique<Stmt>();
  s->type = type;
  s->pos = pos;
  return s;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v)
    if (x == s) return true;
  return false;
}

}  // namespace

Body parse_template(const std::vector<Token>& tokens, const SourceMap& map, int max_depth) {
  return Parser(tokens, map, max_depth).parse();
}

Body Parser::parse() {
  Body body = subparse({}, 0, nullptr);
  validate(body, /*soft=*/false);
  return body;
}

void Parser::expect_block_end() {
  if (cur().type != Tok::BlockEnd) fail_here("end of statement block");
  next();
}

Body Parser::subparse(const std::vector<std::string>& end_names, size_t open_pos, const char* tag) {
  Body body;
  while (true) {
    const Token& t = cur();
    if (t.type == Tok::Data) {
      auto s = make_stmt(StmtType::Text, t.pos);
      s->text = t.text;
      body.push_back(std::move(s));
      next();
    } else if (t.type == Tok::VarBegin) {
      next();
      auto s = make_stmt(StmtType::Print, t.pos);
      s->expr = parse_tuple(/*simplified=*/false, /*with_condexpr=*/true, nullptr, /*explicit_parens=*/false);
      if (cur().type != Tok::VarEnd) fail_here("end of print statement");
      next();
      body.push_back(std::move(s));
    } else if (t.type == Tok::BlockBegin) {
      next();
      if (cur().type == Tok::Name && contains(end_names, cur().text)) return body;
      parse_statement(body);
      expect_block_end();
    } else {  // Eof
      if (tag) {
        std::string expected;
        for (const auto& n : end_names) expected += (expected.empty() ? "'" : " or '") + n + "'";
        fail(open_pos, "unexpected end of template: '" + std::string(tag) + "' block never closed (expected " + expected + ")");
      }
      return body;
    }
  }
}

Body Parser::parse_statements(const std::vector<std::string>& end_names, size_t open_pos, const char* tag, bool drop_needle) {
  skip_op(":");
  expect_block_end();
  DepthGuardP guard(*this, open_pos);
  Body body = subparse(end_names, open_pos, tag);
  if (drop_needle) next();
  return body;
}

void Parser::parse_statement(Body& body) {
  const Token& t = cur();
  if (t.type != Tok::Name) fail(t.pos, "tag name expected");
  const std::string& name = t.text;
  const size_t pos = toks_[i_ - 1].pos;  // the "{%" that opened the tag
  if (name == "for") {
    body.push_back(parse_for(pos));
    return;
  }
  if (name == "if") {
    body.push_back(parse_if(pos));
    return;
  }
  if (name == "set") {
    body.push_back(parse_set(pos));
    return;
  }
  if (name == "macro") {
    body.push_back(parse_macro(pos));
    return;
  }
  if (name == "call") {
    body.push_back(parse_call_block(pos));
    return;
  }
  if (name == "filter") {
    body.push_back(parse_filter_block(pos));
    return;
  }
  if (name == "break" || name == "continue") {
    if (loop_depth_ == 0) fail(t.pos, "'" + name + "' outside of a loop");
    next();
    body.push_back(make_stmt(name == "break" ? StmtType::Break : StmtType::Continue, pos));
    return;
  }
  if (name == "generation") {  // transformers' AssistantTracker extension: renders its body
    next();
    auto s = make_stmt(StmtType::Scope, pos);
    s->bodies.push_back(parse_statements({"endgeneration"}, pos, "generation", /*drop_needle=*/true));
    body.push_back(std::move(s));
    return;
  }
  if (name == "print") {
    next();
    while (cur().type != Tok::BlockEnd) {
      auto s = make_stmt(StmtType::Print, cur().pos);
      s->expr = parse_expression();
      body.push_back(std::move(s));
      if (cur().type != Tok::BlockEnd) expect_op(",");
    }
    return;
  }
  fail(t.pos, "encountered unknown tag '" + name + "'");
}

Target Parser::parse_target(bool for_loop) {
  Target target;
  auto one_name = [&]() {
    const size_t p = cur().pos;
    std::string n = expect_name();
    if (n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None") {
      fail(p, "can't assign to '" + n + "'");
    }
    target.names.push_back(std::move(n));
  };
  if (skip_op("(")) {
    target.tuple = true;
    while (!is_op(")")) {
      if (!target.names.empty()) expect_op(",");
      if (is_op(")")) break;
      one_name();
    }
    expect_op(")");
    return target;
  }
  one_name();
  if (!for_loop && is_op(".")) {  // namespace attribute: set ns.attr = ...
    next();
    target.attr = expect_name();
    return target;
  }
  while (skip_op(",")) {
    target.tuple = true;
    if (is_name("in") || is_op("=") || cur().type == Tok::BlockEnd) break;
    one_name();
  }
  return target;
}

StmtPtr Parser::parse_for(size_t pos) {
  next();
  auto s = make_stmt(StmtType::For, pos);
  s->target = parse_target(/*for_loop=*/true);
  if (!skip_name("in")) fail_here("'in'");
  s->expr = parse_tuple(/*simplified=*/false, /*with_condexpr=*/false, "recursive", /*explicit_parens=*/false);
  if (skip_name("if")) s->cond = parse_expression();
  if (is_name("recursive")) fail(cur().pos, "recursive loops are not supported");
  ++loop_depth_;
  s->bodies.push_back(parse_statements({"endfor", "else"}, pos, "for", /*drop_needle=*/false));
  --loop_depth_;
  if (next().text == "else") s->bodies.push_back(parse_statements({"endfor"}, pos, "for", /*drop_needle=*/true));
  return s;
}

StmtPtr Parser::parse_if(size_t pos) {
  next();
  auto s = make_stmt(StmtType::If, pos);
  while (true) {
    s->conds.push_back(parse_tuple(/*simplified=*/false, /*with_condexpr=*/false, nullptr, /*explicit_parens=*/false));
    s->bodies.push_back(parse_statements({"elif", "else", "endif"}, pos, "if", /*drop_needle=*/false));
    const std::string tok = next().text;
    if (tok == "elif") continue;
    if (tok == "else") s->bodies.push_back(parse_statements({"endif"}, pos, "if", /*drop_needle=*/true));
    return s;
  }
}

StmtPtr Parser::parse_set(size_t pos) {
  next();
  auto s = make_stmt(StmtType::Set, pos);
  s->target = parse_target(/*for_loop=*/false);
  if (skip_op("=")) {
    s->expr = parse_tuple(/*simplified=*/false, /*with_condexpr=*/true, nullptr, /*explicit_parens=*/false);
    return s;
  }
  s->type = StmtType::SetBlock;
  if (is_op("|")) s->expr = parse_filter(nullptr, /*start_inline=*/false);
  s->bodies.push_back(parse_statements({"endset"}, pos, "set", /*drop_needle=*/true));
  return s;
}

void Parser::parse_params(std::vector<MacroParam>& params) {
  expect_op("(");
  bool defaults = false;
  while (!is_op(")")) {
    if (!params.empty()) expect_op(",");
    MacroParam p;
    p.name = expect_name();
    if (skip_op("=")) {
      p.default_value = parse_expression();
      defaults = true;
    } else if (defaults) {
      fail(cur().pos, "non-default argument follows default argument");
    }
    params.push_back(std::move(p));
  }
  expect_op(")");
}

StmtPtr Parser::parse_macro(size_t pos) {
  next();
  auto s = make_stmt(StmtType::Macro, pos);
  s->text = expect_name();
  parse_params(s->params);
  const int saved = loop_depth_;
  loop_depth_ = 0;
  s->bodies.push_back(parse_statements({"endmacro"}, pos, "macro", /*drop_needle=*/true));
  loop_depth_ = saved;
  return s;
}

StmtPtr Parser::parse_call_block(size_t pos) {
  next();
  auto s = make_stmt(StmtType::CallBlock, pos);
  if (is_op("(")) parse_params(s->params);
  s->expr = parse_expression();
  if (s->expr->type != ExprType::Call) fail(pos, "expected call");
  const int saved = loop_depth_;
  loop_depth_ = 0;
  s->bodies.push_back(parse_statements({"endcall"}, pos, "call", /*drop_needle=*/true));
  loop_depth_ = saved;
  return s;
}

StmtPtr Parser::parse_filter_block(size_t pos) {
  next();
  auto s = make_stmt(StmtType::FilterBlock, pos);
  s->expr = parse_filter(nullptr, /*start_inline=*/true);
  s->bodies.push_back(parse_statements({"endfilter"}, pos, "filter", /*drop_needle=*/true));
  return s;
}

// jinja2 rejects unknown filters and tests at compile time, except inside `if` branches and
// inline if-expressions ("soft" frames), where the error waits until the code runs.
void Parser::validate_expr(const Expr* e, bool soft) const {
  if (!e) return;
  if (e->type == ExprType::Cond) soft = true;
  if (!soft && e->type == ExprType::Filter && !find_filter(e->name)) {
    fail(e->pos, "no filter named '" + e->name + "'");
  }
  if (!soft && e->type == ExprType::Test && !find_test(e->name)) fail(e->pos, "no test named '" + e->name + "'");
  for (const auto& c : e->children) validate_expr(c.get(), soft);
  for (const auto& kv : e->kwargs) validate_expr(kv.second.get(), soft);
}

void Parser::validate(const Body& body, bool soft) const {
  for (const auto& s : body) {
    const bool is_if = s->type == StmtType::If;
    validate_expr(s->expr.get(), soft);
    validate_expr(s->cond.get(), false);
    for (const auto& c : s->conds) validate_expr(c.get(), true);
    for (const auto& p : s->params) validate_expr(p.default_value.get(), false);
    const bool inner_soft = is_if || (s->type == StmtType::Scope && soft);
    for (const auto& b : s->bodies) validate(b, inner_soft);
  }
}

}  // namespace cpplm::jinja
