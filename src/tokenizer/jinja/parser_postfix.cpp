// Postfix and trailer grammar: list/dict literals, .attr, [subscript:slice], calls, |filters and "is" tests.
#include "core/error.h"
#include "tokenizer/jinja/parser.h"

namespace cpplm::jinja {

ExprPtr Parser::parse_list() {
  auto l = make(ExprType::List, next().pos);
  while (!is_op("]")) {
    if (!l->children.empty()) expect_op(",");
    if (is_op("]")) break;
    l->children.push_back(parse_expression());
  }
  expect_op("]");
  return l;
}

ExprPtr Parser::parse_dict() {
  auto d = make(ExprType::Dict, next().pos);
  while (!is_op("}")) {
    if (!d->children.empty()) expect_op(",");
    if (is_op("}")) break;
    d->children.push_back(parse_expression());
    expect_op(":");
    d->children.push_back(parse_expression());
  }
  expect_op("}");
  return d;
}

ExprPtr Parser::parse_postfix(ExprPtr node) {
  const int saved_depth = depth_;  // chain links count as nesting only while parsing this chain
  while (true) {
    if (is_op(".") || is_op("[") || is_op("(")) enter(cur().pos);
    if (is_op(".") || is_op("[")) {
      node = parse_subscript(std::move(node));
    } else if (is_op("(")) {
      auto call = make(ExprType::Call, node->pos);
      call->children.push_back(std::move(node));
      parse_call_args(*call);
      node = std::move(call);
    } else {
      depth_ = saved_depth;
      return node;
    }
  }
}

ExprPtr Parser::parse_filter_expr(ExprPtr node) {
  const int saved_depth = depth_;  // chain links count as nesting only while parsing this chain
  while (true) {
    if (is_op("|") || is_name("is") || is_op("(")) enter(cur().pos);
    if (is_op("|")) {
      node = parse_filter(std::move(node), /*start_inline=*/false);
    } else if (is_name("is")) {
      node = parse_test(std::move(node));
    } else if (is_op("(")) {
      auto call = make(ExprType::Call, node->pos);
      call->children.push_back(std::move(node));
      parse_call_args(*call);
      node = std::move(call);
    } else {
      depth_ = saved_depth;
      return node;
    }
  }
}

ExprPtr Parser::parse_subscript(ExprPtr node) {
  const Token& t = next();
  if (t.text == ".") {
    const Token& a = next();
    if (a.type == Tok::Name) {
      auto e = make(ExprType::Attr, t.pos);
      e->name = a.text;
      e->children.push_back(std::move(node));
      return e;
    }
    if (a.type != Tok::Int) fail(a.pos, "expected name or number");
    auto idx = make(ExprType::Const, a.pos);
    idx->value = Value(a.ival);
    return make2(ExprType::Item, t.pos, "", std::move(node), std::move(idx));
  }
  std::vector<ExprPtr> args;
  while (!is_op("]")) {
    if (!args.empty()) expect_op(",");
    args.push_back(parse_subscribed());
  }
  expect_op("]");
  if (args.size() == 1 && args[0]->type == ExprType::Slice) {
    args[0]->children[0] = std::move(node);
    return std::move(args[0]);
  }
  ExprPtr arg;
  if (args.size() == 1) {
    arg = std::move(args[0]);
  } else {
    // x[a, b:c] compiles to invalid Python in jinja2 too.
    for (const auto& a : args) {
      if (a->type == ExprType::Slice) fail(a->pos, "a slice cannot be part of a tuple subscript");
    }
    arg = make(ExprType::Tuple, t.pos);
    arg->children = std::move(args);
  }
  return make2(ExprType::Item, t.pos, "", std::move(node), std::move(arg));
}

// One subscript: an expression or a slice start:stop:step (the object slot children[0] is filled later).
ExprPtr Parser::parse_subscribed() {
  const size_t pos = cur().pos;
  ExprPtr start;
  if (!is_op(":")) {
    start = parse_expression();
    if (!is_op(":")) return start;
  }
  next();  // ':'
  auto s = make(ExprType::Slice, pos);
  s->children.resize(4);
  s->children[1] = std::move(start);
  if (!is_op(":") && !is_op("]") && !is_op(",")) s->children[2] = parse_expression();
  if (skip_op(":")) {
    if (!is_op("]") && !is_op(",")) s->children[3] = parse_expression();
  }
  return s;
}

void Parser::parse_call_args(Expr& call) {
  const size_t pos = cur().pos;
  expect_op("(");
  bool require_comma = false;
  while (!is_op(")")) {
    if (require_comma) {
      expect_op(",");
      if (is_op(")")) break;
    }
    if (is_op("*") || is_op("**")) fail(cur().pos, "*args and **kwargs in calls are not supported");
    if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
      std::string key = next().text;
      next();
      call.kwargs.emplace_back(std::move(key), parse_expression());
    } else {
      if (!call.kwargs.empty()) fail(pos, "invalid syntax for function call expression");
      call.children.push_back(parse_expression());
    }
    require_comma = true;
  }
  expect_op(")");
}

ExprPtr Parser::parse_filter(ExprPtr node, bool start_inline) {
  while (is_op("|") || start_inline) {
    if (!start_inline) next();
    start_inline = false;
    const size_t pos = cur().pos;
    std::string name = expect_name();
    while (skip_op(".")) {
      name += '.';
      name += expect_name();
    }
    auto f = make(ExprType::Filter, pos);
    f->name = std::move(name);
    f->children.push_back(std::move(node));
    if (is_op("(")) parse_call_args(*f);
    node = std::move(f);
  }
  return node;
}

ExprPtr Parser::parse_test(ExprPtr node) {
  next();  // 'is'
  const bool negated = skip_name("not");
  const size_t pos = cur().pos;
  std::string name = expect_name();
  while (skip_op(".")) {
    name += '.';
    name += expect_name();
  }
  auto t = make(ExprType::Test, pos);
  t->name = std::move(name);
  t->negated = negated;
  t->children.push_back(std::move(node));
  const Token& c = cur();
  if (is_op("(")) {
    parse_call_args(*t);
  } else if ((c.type == Tok::Name || c.type == Tok::String || c.type == Tok::Int || c.type == Tok::Float || is_op("[") ||
              is_op("{")) &&
             !is_name("else") && !is_name("or") && !is_name("and")) {
    if (is_name("is")) fail(c.pos, "You cannot chain multiple tests with is");
    t->children.push_back(parse_postfix(parse_primary()));
  }
  return t;
}

}  // namespace cpplm::jinja
