// Expression grammar (jinja2 parser.py: condexpr > or > and > not > compare > math1 > concat > math2 > pow > unary).
#include "core/error.h"
#include "tokenizer/jinja/parser.h"

namespace cpplm::jinja {

std::string Parser::describe(const Token& t) {
  switch (t.type) {
    case Tok::Data: return "template data";
    case Tok::VarBegin: return "begin of print statement";
    case Tok::VarEnd: return "end of print statement";
    case Tok::BlockBegin: return "begin of statement block";
    case Tok::BlockEnd: return "end of statement block";
    case Tok::Name: return "'" + t.text + "'";
    case Tok::String: return "string";
    case Tok::Int: return "integer";
    case Tok::Float: return "float";
    case Tok::Op: return "'" + t.text + "'";
    case Tok::Eof: return "end of template";
  }
  return "?";
}

void Parser::fail(size_t pos, const std::string& msg) const { throw Error(map_.where(pos) + ": " + msg); }

void Parser::fail_here(const std::string& expected) const {
  fail(cur().pos, "expected " + expected + ", got " + describe(cur()));
}

void Parser::enter(size_t pos) {
  if (++depth_ > max_depth_) {
    --depth_;
    fail(pos, "template nested too deeply (limit " + std::to_string(max_depth_) + ")");
  }
}

void Parser::expect_op(const char* op) {
  if (!skip_op(op)) fail_here(std::string("'") + op + "'");
}

std::string Parser::expect_name() {
  if (cur().type != Tok::Name) fail_here("name");
  return next().text;
}

bool Parser::is_tuple_end(const char* extra_end) const {
  if (cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd || is_op(")")) return true;
  return extra_end && is_name(extra_end);
}

ExprPtr Parser::parse_tuple(bool simplified, bool with_condexpr, const char* extra_end, bool explicit_parens) {
  const size_t pos = cur().pos;
  std::vector<ExprPtr> args;
  bool is_tuple = false;
  while (true) {
    if (!args.empty()) expect_op(",");
    if (is_tuple_end(extra_end)) break;
    args.push_back(simplified ? parse_primary() : parse_expression(with_condexpr));
    if (is_op(",")) is_tuple = true;
    else break;
  }
  if (!is_tuple) {
    if (!args.empty()) return std::move(args[0]);
    if (!explicit_parens) fail_here("an expression");
  }
  auto t = make(ExprType::Tuple, pos);
  t->children = std::move(args);
  return t;
}

ExprPtr Parser::parse_expression(bool with_condexpr) {
  DepthGuardP guard(*this, cur().pos);
  return with_condexpr ? parse_condexpr() : parse_or();
}

ExprPtr Parser::parse_condexpr() {
  const int saved_depth = depth_;  // chain links count as nesting only while parsing this chain
  ExprPtr expr1 = parse_or();
  while (is_name("if")) {
    const size_t pos = next().pos;
    enter(pos);  // each link of a chain deepens the tree (and later recursion over it)
    auto c = make(ExprType::Cond, pos);
    ExprPtr cond = parse_or();
    ExprPtr otherwise;
    if (skip_name("else")) otherwise = parse_condexpr();
    c->children.push_back(std::move(cond));
    c->children.push_back(std::move(expr1));
    c->children.push_back(std::move(otherwise));
    expr1 = std::move(c);
  }
  depth_ = saved_depth;
  return expr1;
}

ExprPtr Parser::parse_or() {
  const int saved_depth = depth_;  // chain links count as nesting only while parsing this chain
  ExprPtr left = parse_and();
  while (is_name("or")) {
    const size_t pos = next().pos;
    enter(pos);
    left = make2(ExprType::Or, pos, "or", std::move(left), parse_and());
  }
  depth_ = saved_depth;
  return left;
}

ExprPtr Parser::parse_and() {
  const int saved_depth = depth_;  // chain links count as nesting only while parsing this chain
  ExprPtr left = parse_not();
  while (is_name("and")) {
    const size_t pos = next().pos;
    enter(pos);
    left = make2(ExprType::And, pos, "and", std::move(left), parse_not());
  }
  depth_ = saved_depth;
  return left;
}

ExprPtr Parser::parse_not() {
  if (is_name("not")) {
    const size_t pos = next().pos;
    DepthGuardP guard(*this, pos);
    auto n = make(ExprType::Not, pos);
    n->children.push_back(parse_not());
    return n;
  }
  return parse_compare();
}

ExprPtr Parser::parse_compare() {
  const size_t pos = cur().pos;
  ExprPtr expr = parse_math1();
  ExprPtr cmp;
  while (true) {
    std::string op;
    if (cur().type == Tok::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
                                  cur().text == ">" || cur().text == ">=")) {
      op = next().text;
    } else if (skip_name("in")) {
      op = "in";
    } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
      next();
      next();
      op = "notin";
    } else {
      break;
    }
    if (!cmp) {
      cmp = make(ExprType::Compare, pos);
      cmp->children.push_back(std::move(expr));
    }
    cmp->ops.push_back(op);
    cmp->children.push_back(parse_math1());
  }
  return cmp ? std::move(cmp) : std::move(expr);
}

ExprPtr Parser::parse_math1() {
  const int saved_depth = depth_;  // chain links count as nesting only while parsing this chain
  ExprPtr left = parse_concat();
  while (is_op("+") || is_op("-")) {
    const Token& t = next();
    enter(t.pos);
    left = make2(ExprType::Binary, t.pos, t.text, std::move(left), parse_concat());
  }
  depth_ = saved_depth;
  return left;
}

ExprPtr Parser::parse_concat() {
  const int saved_depth = depth_;  // chain links count as nesting only while parsing this chain
  ExprPtr left = parse_math2();
  while (is_op("~")) {
    const size_t pos = next().pos;
    enter(pos);
    left = make2(ExprType::Binary, pos, "~", std::move(left), parse_math2());
  }
  depth_ = saved_depth;
  return left;
}

ExprPtr Parser::parse_math2() {
  const int saved_depth = depth_;  // chain links count as nesting only while parsing this chain
  ExprPtr left = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    const Token& t = next();
    enter(t.pos);
    left = make2(ExprType::Binary, t.pos, t.text, std::move(left), parse_pow());
  }
  depth_ = saved_depth;
  return left;
}

ExprPtr Parser::parse_pow() {
  const int saved_depth = depth_;  // chain links count as nesting only while parsing this chain
  ExprPtr left = parse_unary(true);
  while (is_op("**")) {
    const size_t pos = next().pos;
    enter(pos);
    left = make2(ExprType::Binary, pos, "**", std::move(left), parse_unary(true));
  }
  depth_ = saved_depth;
  return left;
}

ExprPtr Parser::parse_unary(bool with_filter) {
  DepthGuardP guard(*this, cur().pos);
  ExprPtr node;
  if (is_op("-") || is_op("+")) {
    const Token& t = next();
    node = make(ExprType::Unary, t.pos);
    node->name = t.text;
    node->children.push_back(parse_unary(false));
  } else {
    node = parse_primary();
  }
  node = parse_postfix(std::move(node));
  if (with_filter) node = parse_filter_expr(std::move(node));
  return node;
}

ExprPtr Parser::parse_primary() {
  const Token& t = cur();
  const size_t pos = t.pos;
  if (t.type == Tok::Name) {
    next();
    auto c = make(ExprType::Const, pos);
    if (t.text == "true" || t.text == "True") {
      c->value = Value(true);
      return c;
    }
    if (t.text == "false" || t.text == "False") {
      c->value = Value(false);
      return c;
    }
    if (t.text == "none" || t.text == "None") {
      c->value = Value::none();
      return c;
    }
    c->type = ExprType::Name;
    c->name = t.text;
    return c;
  }
  if (t.type == Tok::String) {
    std::string buf;
    while (cur().type == Tok::String) buf += next().text;  // adjacent literals concatenate
    auto c = make(ExprType::Const, pos);
    c->value = Value(std::move(buf));
    return c;
  }
  if (t.type == Tok::Int || t.type == Tok::Float) {
    next();
    auto c = make(ExprType::Const, pos);
    c->value = t.type == Tok::Int ? Value(t.ival) : Value(t.fval);
    return c;
  }
  if (is_op("(")) {
    next();
    ExprPtr e = parse_tuple(/*simplified=*/false, /*with_condexpr=*/true, nullptr, /*explicit_parens=*/true);
    expect_op(")");
    return e;
  }
  if (is_op("[")) return parse_list();
  if (is_op("{")) return parse_dict();
  fail(pos, "unexpected " + describe(t));
}

}  // namespace cpplm::jinja
