#include "server/job.h"

namespace limarp::server {

Job::Update Job::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return !pieces_.empty() || done_; });
  Update u;
  u.pieces.assign(std::make_move_iterator(pieces_.begin()), std::make_move_iterator(pieces_.end()));
  pieces_.clear();
  u.done = done_;
  return u;
}

void Job::push(StreamPiece piece) {
  {
    std::lock_guard lock(mutex_);
    pieces_.push_back(std::move(piece));
  }
  if (streaming_) cv_.notify_all();
}

void Job::finish(Result<JobResult> result) {
  {
    std::lock_guard lock(mutex_);
    result_.emplace(std::move(result));
    done_ = true;
  }
  cv_.notify_all();
}

}  // namespace limarp::server
