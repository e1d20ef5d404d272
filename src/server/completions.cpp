// Generation requests: prompt building, the job, and its response (whole or streamed).
#include "server/completions.h"

#include <httplib.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <random>

#include "server/responses.h"

namespace cpplm::server {
namespace {

std::string new_id(bool chat) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  char b[48];
  std::snprintf(b, sizeof b, "%s-%08llx%06llx", chat ? "chatcmpl" : "cmpl", static_cast<unsigned long long>(salt & 0xffffffff),
                static_cast<unsigned long long>(++counter));
  return b;
}

std::vector<int32_t> chat_prompt(const ServedModel& m, const GenerationRequest& r) {
  if (!m.template_error.empty()) throw ApiError(400, "the model's chat template does not parse: " + m.template_error, "messages");
  if (!m.chat_template.available())
    throw ApiError(400, "this model has no chat template; use /v1/completions or start the server with --chat-template",
                   "messages");
  nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
  for (const ChatMessage& msg : r.messages) msgs.push_back({{"role", msg.role}, {"content", msg.content}});
  std::string text;
  try {
    text = m.chat_template.render(msgs, /*add_generation_prompt=*/true);
  } catch (const std::exception& e) {  // e.g. a template's raise_exception on role order
    throw ApiError(400, std::string("the chat template refused these messages: ") + e.what(), "messages");
  }
  // The rendered template carries its own BOS text.
  return m.tokenizer->encode(text, /*add_special_tokens=*/false);
}

std::vector<int32_t> completion_prompt(const ServedModel& m, const GenerationRequest& r) {
  if (r.prompt_text) return m.tokenizer->encode(*r.prompt_text, /*add_special_tokens=*/true);
  return r.prompt_tokens;
}

void log_line(const CompletionContext& ctx, const Job& job, int status, const std::string& finish) {
  if (!ctx.opts.log) return;
  const Usage u = job.usage();
  const double total = std::chrono::duration<double>(Clock::now() - job.arrived).count();
  const double ttft = job.ttft();
  const double decode = ttft >= 0 ? total - ttft : 0;
  char b[320];
  std::snprintf(b, sizeof b, "%s %d: prompt %d tokens (%d cached), generated %d, ttft %.1f ms, %.1f tokens/s, finish %s",
                job.id.c_str(), status, u.prompt_tokens, u.cached_tokens, u.completion_tokens, ttft >= 0 ? ttft * 1e3 : 0.0,
                decode > 0 && u.completion_tokens > 1 ? (u.completion_tokens - job.req.n) / decode : 0.0, finish.c_str());
  ctx.opts.log(b);
}

void record(const CompletionContext& ctx, const Job& job) {
  const Usage u = job.usage();
  ctx.metrics.tokens(u.prompt_tokens, u.completion_tokens, u.cached_tokens);
  if (job.ttft() >= 0) ctx.metrics.ttft(job.ttft());
}

std::string sse(const std::string& data) { return "data: " + data + "\n\n"; }

}  // namespace

void handle_completion(const CompletionContext& ctx, bool chat, const httplib::Request& req, httplib::Response& res) {
  const ServedModel& m = ctx.served;
  // logit_bias ids and token prompts index the model's logits and embeddings: its vocabulary bounds them.
  const ParseLimits limits{m.id, m.model->args().vocab_size, std::min(16, ctx.scheduler.options().max_concurrent)};
  auto job = std::make_shared<Job>();
  job->req = chat ? parse_chat_request(req.body, limits) : parse_completion_request(req.body, limits);
  job->id = new_id(chat);
  job->prompt = chat ? chat_prompt(m, job->req) : completion_prompt(m, job->req);
  for (int32_t t : job->prompt)
    if (t < 0 || t >= m.model->args().vocab_size)
      throw ApiError(400, "token id " + std::to_string(t) + " is outside the model's vocabulary", "prompt");
  const int ctx_size = ctx.scheduler.options().ctx_size;
  const int room = std::max(1, ctx_size - static_cast<int>(job->prompt.size()));
  job->max_tokens = job->req.max_tokens.value_or(chat ? room : std::min(room, ctx.opts.completion_max_tokens));
  job->seed = job->req.seed ? *job->req.seed : (static_cast<uint64_t>(std::random_device{}()) << 32 | std::random_device{}());
  ctx.scheduler.submit(job);  // throws 400/429/503

  ResponseHeader h{job->id, m.id, ctx.fingerprint, static_cast<int64_t>(std::time(nullptr)), chat};
  const bool logprobs = job->req.logprobs;
  const Tokenizer& tok = *m.tokenizer;
  if (!job->req.stream) {
    std::vector<ChoiceResult> choices(job->req.n);
    while (!job->done())
      for (ChoiceEvent& e : job->take(std::chrono::milliseconds(200))) {
        ChoiceResult& c = choices.at(e.choice);
        c.text += e.text;
        for (TokenLogprobs& lp : e.logprobs) c.logprobs.push_back(std::move(lp));
        if (e.finish) c.finish = finish_reason_name(*e.finish);
      }
    if (auto err = job->error()) throw ApiError(err->first, err->second);
    record(ctx, *job);
    log_line(ctx, *job, 200, choices[0].finish);
    res.set_content(full_response(h, choices, job->usage(), logprobs, tok), "application/json");
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  struct StreamState {
    bool started = false, ended = false;
    std::string finish = "length";
    std::vector<size_t> offsets;  // per choice: completion logprobs' text_offset so far
  };
  auto st = std::make_shared<StreamState>();
  st->offsets.assign(job->req.n, 0);
  const bool include_usage = job->req.include_usage;
  res.set_chunked_content_provider(
      "text/event-stream",
      [ctx, job, h, st, logprobs, include_usage, tokp = &tok](size_t, httplib::DataSink& sink) {
        const Tokenizer& tok = *tokp;
        std::string out;
        if (!st->started) {
          st->started = true;
          if (h.chat)
            for (int c = 0; c < job->req.n; ++c) out += sse(role_chunk(h, c));
        }
        for (const ChoiceEvent& e : job->take(std::chrono::milliseconds(100))) {
          if (!e.text.empty() || (logprobs && !e.logprobs.empty())) out += sse(delta_chunk(h, e, logprobs, tok, st->offsets.at(e.choice)));
          if (e.finish) {
            st->finish = finish_reason_name(*e.finish);
            out += sse(finish_chunk(h, e.choice, st->finish));
          }
        }
        const bool done = job->done();
        if (done) {
          if (auto err = job->error()) {
            out += sse(error_body(ApiError(err->first, err->second)));
          } else {
            if (include_usage) out += sse(usage_chunk(h, job->usage()));
            out += "data: [DONE]\n\n";
          }
        }
        if (!out.empty() && !sink.write(out.data(), out.size())) {
          job->cancel();  // the client went away: its K/V is freed at the scheduler's next step
          return false;
        }
        if (done) {
          st->ended = true;
          record(ctx, *job);
          log_line(ctx, *job, 200, job->error() ? "error" : st->finish);
          sink.done();
        } else if (out.empty() && !sink.is_writable()) {
          job->cancel();
          return false;
        }
        return true;
      },
      [ctx, job, st](bool) {
        if (!st->ended) {
          job->cancel();
          log_line(ctx, *job, 499, "cancelled (client disconnected)");
        }
      });
}

}  // namespace cpplm::server
