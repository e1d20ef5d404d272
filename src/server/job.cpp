// Job: the channel between the engine thread and the request's HTTP thread.
#include "server/job.h"

namespace cpplm::server {

void Job::push(ChoiceEvent e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!first_token_) first_token_ = Clock::now();  // the scheduler pushes one event per sampled token
    events_.push_back(std::move(e));
  }
  cv_.notify_all();
}

void Job::finish(const Usage& u) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    usage_ = u;
    finished_ = true;
  }
  cv_.notify_all();
}

void Job::fail(int status, const std::string& msg) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = {status, msg};
    finished_ = true;
  }
  cv_.notify_all();
}

std::vector<ChoiceEvent> Job::take(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !events_.empty() || finished_; });
  std::vector<ChoiceEvent> out(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
  events_.clear();
  return out;
}

bool Job::done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_ && events_.empty();
}

Usage Job::usage() const {
  std::lock_guard<std::mutex> lock(mu_);
  return usage_;
}

std::optional<std::pair<int, std::string>> Job::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

double Job::ttft() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_token_ ? std::chrono::duration<double>(*first_token_ - arrived).count() : -1.0;
}

}  // namespace cpplm::server
