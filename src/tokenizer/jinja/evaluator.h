// Tree-walking evaluator: scopes, statements, expressions and calls, with jinja2's runtime semantics.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/template.h"
#include "tokenizer/jinja/value.h"

namespace cpplm::jinja {

// A runtime failure without a location yet; the evaluator adds "name:line:col" of the node.
struct Fail {
  std::string msg;
};
[[noreturn]] void fail(std::string msg);

// Variables of one frame. For-loop iterations and macro calls open a child frame, so `set`
// inside them does not leak out (jinja2 scoping); `if` bodies share their parent's frame.
struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
  const Value* lookup(const std::string& name) const;
};
using ScopePtr = std::shared_ptr<Scope>;

class Evaluator {
 public:
  Evaluator(const SourceMap& map, const Limits& limits);
  ~Evaluator();  // clears namespaces and macro frames, which may reference each other

  std::string render(const Body& body, const ScopePtr& root);

  // Calls a macro, global function or bound method.
  Value call(const Value& fn, CallArgs& args);
  Value apply_filter(const std::string& name, const Value& input, CallArgs& args);
  bool apply_test(const std::string& name, const Value& input, CallArgs& args);
  Value make_namespace(Dict d);
  // Throws when a string or list about to be built would pass the output limit.
  void check_size(size_t bytes) const;
  void step();

 private:
  enum class Flow { Normal, Break, Continue };
  // Bounds evaluation recursion (nested expressions, macro calls) to 4x the parse nesting limit.
  struct DepthGuard {
    Evaluator& ev;
    explicit DepthGuard(Evaluator& e);
    ~DepthGuard() { --ev.depth_; }
  };

  Flow exec(const Body& body, const ScopePtr& scope);
  Flow exec_stmt(const Stmt& s, const ScopePtr& scope);
  Flow exec_for(const Stmt& s, const ScopePtr& scope);
  void exec_set(const Stmt& s, const ScopePtr& scope);
  void assign(const Target& t, Value v, Scope& scope);
  std::string capture(const Body& body, const ScopePtr& scope);
  Value define_macro(const Stmt& s, const ScopePtr& scope, const std::string& name);
  Value call_macro(const Stmt& s, const ScopePtr& closure, CallArgs& args);
  void emit(const std::string& text);

  Value eval(const Expr& e, Scope& scope);
  Value eval_inner(const Expr& e, Scope& scope);
  Value eval_call(const Expr& e, Scope& scope, const Value* caller);
  void eval_args(const Expr& e, size_t first, Scope& scope, CallArgs& out);
  Value eval_compare(const Expr& e, Scope& scope);

  const SourceMap& map_;
  Limits limits_;
  std::string* out_ = nullptr;
  int depth_ = 0;
  uint64_t steps_ = 0;
  const Value* filter_block_input_ = nullptr;
  ScopePtr globals_;
  std::vector<Value> namespaces_;
  std::vector<ScopePtr> closures_;
};

// Operators with Python semantics (eval_ops.cpp).
Value binary_op(const std::string& op, const Value& a, const Value& b, const Evaluator& ev);
Value unary_op(const std::string& op, const Value& a);
bool compare_op(const std::string& op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);
Value get_attr(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
// Items a for loop or filter iterates over (dict -> keys, str -> characters, undefined -> none).
std::vector<Value> iterate(const Value& v);
// jinja2's message for using an undefined value.
[[noreturn]] void fail_undefined(const Value& v);

}  // namespace cpplm::jinja
