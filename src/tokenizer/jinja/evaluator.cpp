// Statement execution: output, if/for/set, macros and call blocks, loop controls, with jinja2's scoping.
#include "tokenizer/jinja/evaluator.h"

#include <stdexcept>

#include "core/error.h"
#include "tokenizer/jinja/builtins.h"

namespace cpplm::jinja {

void fail(std::string msg) { throw Fail{std::move(msg)}; }

const Value* Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

Evaluator::DepthGuard::DepthGuard(Evaluator& e) : ev(e) {
  if (++ev.depth_ > ev.limits_.max_nesting * 4) {
    --ev.depth_;
    fail("template recursion too deep (limit " + std::to_string(ev.limits_.max_nesting * 4) + ")");
  }
}

Evaluator::Evaluator(const SourceMap& map, const Limits& limits)
    : map_(map), limits_(limits), globals_(std::make_shared<Scope>()) {
  Dict g;
  add_globals(g);
  for (auto& [k, v] : g.items) globals_->vars[k] = std::move(v);
}

Evaluator::~Evaluator() {
  for (auto& ns : namespaces_) ns.namespace_ref().items.clear();
  for (auto& c : closures_) c->vars.clear();
}

void Evaluator::step() {
  if (++steps_ > limits_.max_steps) fail("template exceeded " + std::to_string(limits_.max_steps) + " steps");
}

void Evaluator::check_size(size_t bytes) const {
  if (bytes > limits_.max_output_bytes) {
    fail("value of " + std::to_string(bytes) + " bytes exceeds the limit of " + std::to_string(limits_.max_output_bytes));
  }
}

Value Evaluator::make_namespace(Dict d) {
  Value ns = Value::make_namespace(std::move(d));
  namespaces_.push_back(ns);
  return ns;
}

std::string Evaluator::render(const Body& body, const ScopePtr& root) {
  struct SizeScope {
    uint64_t saved = max_value_size();
    explicit SizeScope(uint64_t bytes) { set_max_value_size(bytes); }
    ~SizeScope() { set_max_value_size(saved); }
  } size_scope(uint64_t{limits_.max_output_bytes} * 2);
  root->parent = globals_;
  std::string out;
  out_ = &out;
  exec(body, root);
  out_ = nullptr;
  return out;
}

void Evaluator::emit(const std::string& text) {
  if (out_->size() + text.size() > limits_.max_output_bytes) {
    fail("output exceeds the limit of " + std::to_string(limits_.max_output_bytes) + " bytes");
  }
  out_->append(text);
}

std::string Evaluator::capture(const Body& body, const ScopePtr& scope) {
  std::string buf;
  std::string* saved = out_;
  out_ = &buf;
  struct Restore {
    std::string*& slot;
    std::string* value;
    ~Restore() { slot = value; }
  } restore{out_, saved};
  exec(body, scope);
  return buf;
}

Evaluator::Flow Evaluator::exec(const Body& body, const ScopePtr& scope) {
  for (const auto& s : body) {
    const Flow f = exec_stmt(*s, scope);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Evaluator::Flow Evaluator::exec_stmt(const Stmt& s, const ScopePtr& scope) {
  try {
    DepthGuard guard(*this);
    step();
    switch (s.type) {
      case StmtType::Text: emit(s.text); break;
      case StmtType::Print: emit(eval(*s.expr, *scope).to_str()); break;
      case StmtType::If:
        for (size_t i = 0; i < s.conds.size(); ++i) {
          if (eval(*s.conds[i], *scope).truthy()) return exec(s.bodies[i], scope);
        }
        if (s.bodies.size() > s.conds.size()) return exec(s.bodies.back(), scope);
        break;
      case StmtType::For: return exec_for(s, scope);
      case StmtType::Set: assign(s.target, eval(*s.expr, *scope), *scope); break;
      case StmtType::SetBlock: {
        Value text(capture(s.bodies[0], scope));
        if (s.expr) {
          filter_block_input_ = &text;
          text = eval(*s.expr, *scope);
        }
        assign(s.target, std::move(text), *scope);
        break;
      }
      case StmtType::Macro: scope->vars[s.text] = define_macro(s, scope, s.text); break;
      case StmtType::CallBlock: {
        const Value caller = define_macro(s, scope, "caller");
        emit(eval_call(*s.expr, *scope, &caller).to_str());
        break;
      }
      case StmtType::FilterBlock: {
        const Value text(capture(s.bodies[0], scope));
        filter_block_input_ = &text;
        emit(eval(*s.expr, *scope).to_str());
        break;
      }
      case StmtType::Break: return Flow::Break;
      case StmtType::Continue: return Flow::Continue;
      case StmtType::Scope: return exec(s.bodies[0], scope);
    }
  } catch (const Fail& f) {
    throw Error(map_.where(s.pos) + ": " + f.msg);
  } catch (const std::invalid_argument& x) {
    throw Error(map_.where(s.pos) + ": " + x.what());
  } catch (const std::length_error& x) {
    throw Error(map_.where(s.pos) + ": " + x.what());
  }
  return Flow::Normal;
}

void Evaluator::assign(const Target& t, Value v, Scope& scope) {
  if (!t.attr.empty()) {
    const Value* ns = scope.lookup(t.names[0]);
    if (!ns || !ns->is_namespace()) fail("cannot assign attribute on non-namespace object");
    ns->namespace_ref().set(t.attr, std::move(v));
    return;
  }
  if (!t.tuple) {
    scope.vars[t.names[0]] = std::move(v);
    return;
  }
  if (v.is_undefined()) fail_undefined(v);
  const std::vector<Value> items = iterate(v);
  if (items.size() > t.names.size()) {
    fail("too many values to unpack (expected " + std::to_string(t.names.size()) + ")");
  }
  if (items.size() < t.names.size()) {
    fail("not enough values to unpack (expected " + std::to_string(t.names.size()) + ", got " + std::to_string(items.size()) +
         ")");
  }
  for (size_t i = 0; i < items.size(); ++i) scope.vars[t.names[i]] = items[i];
}

Evaluator::Flow Evaluator::exec_for(const Stmt& s, const ScopePtr& scope) {
  std::vector<Value> items = iterate(eval(*s.expr, *scope));
  if (s.cond) {  // "for x in xs if cond": loop.* counts only the kept items
    std::vector<Value> kept;
    for (auto& item : items) {
      step();
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      assign(s.target, item, *probe);
      if (eval(*s.cond, *probe).truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) return s.bodies.size() > 1 ? exec(s.bodies[1], scope) : Flow::Normal;
  const auto n = static_cast<int64_t>(items.size());
  auto index = std::make_shared<int64_t>(0);
  const Value cycle = Value::callable("cycle", [index](CallArgs& a, Evaluator&) -> Value {
    if (a.args.empty()) fail("no items for cycling given");
    return a.args[static_cast<size_t>(*index % static_cast<int64_t>(a.args.size()))];
  });
  for (int64_t i = 0; i < n; ++i) {
    step();
    *index = i;
    auto frame = std::make_shared<Scope>();
    frame->parent = scope;
    assign(s.target, items[static_cast<size_t>(i)], *frame);
    Dict loop;
    loop.items = {{"index", Value(i + 1)},    {"index0", Value(i)},
                  {"revindex", Value(n - i)}, {"revindex0", Value(n - i - 1)},
                  {"first", Value(i == 0)},   {"last", Value(i == n - 1)},
                  {"length", Value(n)},       {"depth", Value(1)},
                  {"depth0", Value(0)},       {"cycle", cycle}};
    loop.items.emplace_back("previtem",
                            i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("there is no previous item"));
    loop.items.emplace_back("nextitem",
                            i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::undefined("there is no next item"));
    frame->vars["loop"] = Value::dict(std::move(loop));
    const Flow f = exec(s.bodies[0], frame);
    if (f == Flow::Break) break;
  }
  return Flow::Normal;
}

Value Evaluator::define_macro(const Stmt& s, const ScopePtr& scope, const std::string& name) {
  closures_.push_back(scope);  // the frame may come to hold this macro: cleared in ~Evaluator
  const Stmt* stmt = &s;
  ScopePtr closure = scope;
  return Value::callable(name, [stmt, closure](CallArgs& a, Evaluator& ev) { return ev.call_macro(*stmt, closure, a); });
}

Value Evaluator::call_macro(const Stmt& s, const ScopePtr& closure, CallArgs& args) {
  DepthGuard guard(*this);
  auto frame = std::make_shared<Scope>();
  frame->parent = closure;
  const std::string name = s.type == StmtType::Macro ? s.text : "caller";
  std::vector<bool> bound(s.params.size(), false);
  std::vector<Value> varargs;
  for (size_t i = 0; i < args.args.size(); ++i) {
    if (i < s.params.size()) {
      frame->vars[s.params[i].name] = args.args[i];
      bound[i] = true;
    } else {
      varargs.push_back(args.args[i]);
    }
  }
  Dict kwargs;
  for (auto& [k, v] : args.kwargs) {
    size_t p = 0;
    while (p < s.params.size() && s.params[p].name != k) ++p;
    if (p < s.params.size()) {
      if (bound[p]) fail("macro '" + name + "' got multiple values for argument '" + k + "'");
      frame->vars[k] = v;
      bound[p] = true;
    } else if (k == "caller") {
      frame->vars["caller"] = v;
    } else {
      kwargs.set(k, v);
    }
  }
  for (size_t p = 0; p < s.params.size(); ++p) {
    if (bound[p]) continue;
    const auto& param = s.params[p];
    frame->vars[param.name] = param.default_value ? eval(*param.default_value, *frame)
                                                  : Value::undefined("parameter '" + param.name + "' was not provided");
  }
  frame->vars["varargs"] = Value::list(std::move(varargs), /*tuple=*/true);
  frame->vars["kwargs"] = Value::dict(std::move(kwargs));
  return Value(capture(s.bodies[0], frame));
}

}  // namespace cpplm::jinja
