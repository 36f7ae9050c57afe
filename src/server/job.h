// One generation request on its way through the server: what to generate (a GenerationRequest
// plus the server's own knobs), and the channel its text comes back on. The HTTP handler that
// made the job waits on it, streams the pieces, and cancels it when its client leaves; the
// scheduler's thread produces the pieces and the result.
//
//   auto job = std::make_shared<Job>(std::move(spec));
//   LIMARP_TRY(scheduler.submit(job));                 // or 503 when the queue is full
//   for (;;) {
//     Job::Update u = job->wait(100ms);                // new pieces, or nothing
//     for (auto& piece : u.pieces) send(piece.text);
//     if (u.done) break;
//     if (client_gone()) job->cancel();
//   }
//   const JobResult& r = job->result();
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "infer/generation.h"

namespace limarp::server {

struct JobSpec {
  GenerationRequest request;   // request.adapter is ignored: the slot builds it from lora_scales
  std::vector<float> lora_scales;  // one per loaded adapter (0 = off); empty: none
  std::string genkey;              // KoboldCpp's id for /api/extra/abort (may be empty)
  std::chrono::milliseconds time_limit{0};  // 0: none; counted from when a slot takes the job
  int slot_hint = -1;              // llama.cpp's id_slot: prefer this slot when it is free
  bool cache_prompt = true;        // false: the slot forgets its cache first (llama.cpp's cache_prompt)
};

// A piece of streamed text, with the probabilities of the tokens that completed it when the
// request asked for them (text held back for a stop string arrives later, with its tokens).
struct StreamPiece {
  std::string text;
  std::vector<TokenProbs> probs;
};

struct JobResult {
  GenerationResult generation;
  bool timed_out = false;        // stopped by the time limit (reported as "length")
  int slot = -1;
  int64_t prompt_tokens = 0;
  double queued_ms = 0;          // waiting for a slot
  double first_token_ms = 0;     // from submission to the first generated token being sampled
};

class Job {
 public:
  explicit Job(JobSpec spec) : spec_(std::move(spec)), submitted_(std::chrono::steady_clock::now()) {}

  const JobSpec& spec() const { return spec_; }
  std::chrono::steady_clock::time_point submitted() const { return submitted_; }

  // Consumer side. Waits up to `timeout` for news; returns every piece produced since the last
  // call, and whether the job is over (then result() is final). A consumer that does not stream
  // says so first, and is then woken only by the end, not by every token.
  void set_streaming(bool streaming) { streaming_ = streaming; }
  struct Update {
    std::vector<StreamPiece> pieces;
    bool done = false;
  };
  Update wait(std::chrono::milliseconds timeout);
  // The outcome, once wait() said done: the generation, or the error that ended the job.
  const Result<JobResult>& result() const { return *result_; }

  // Asks the job to stop (client gone, abort endpoint); the scheduler notices between steps.
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

  // Producer side (the scheduler's thread).
  void push(StreamPiece piece);
  void finish(Result<JobResult> result);

 private:
  JobSpec spec_;
  std::chrono::steady_clock::time_point submitted_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> streaming_{true};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<StreamPiece> pieces_;
  std::optional<Result<JobResult>> result_;
  bool done_ = false;
};

}  // namespace limarp::server
