// The generation engine behind every endpoint: N slots, each a KV-cache Session that remembers
// its last conversation, and one thread that runs them all.
//
// Each step of the loop evaluates, in ONE forward pass, the next token of every slot that is
// generating plus a chunk of the prompt of every slot that is still reading one. Decoding is
// bound by reading the weights, so a step with four sequences costs little more than a step
// with one: that is where parallel slots get their throughput. Long prompts are taken in
// chunks so they do not stall the others' streams.
//
// A new job goes to the free slot whose cached tokens share the longest prefix with its prompt
// (clients resend the whole chat every turn; only the new part is evaluated, and old turns
// dropped from the middle are shifted out of the cache instead of recomputed). Jobs wait in a
// bounded FIFO when every slot is busy; submit() refuses when that is full (the API answers
// 503). Each job samples with its own Rng, and a sequence's numbers do not depend on what it
// is batched with, so a seeded request gives the same text alone or under load.
//
//   Scheduler scheduler(model, tokenizer, pool, adapters, {.slots = 4});
//   scheduler.start();
//   auto job = std::make_shared<Job>(spec);
//   LIMARP_TRY(scheduler.submit(job));
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "infer/speculative.h"
#include "infer/text_generator.h"
#include "model/adapter_set.h"
#include "model/forward.h"
#include "server/job.h"

namespace limarp::server {

struct SchedulerOptions {
  int slots = 1;
  int64_t context = 0;          // tokens per slot; 0: the model's trained context
  DType kv_type = DType::kF16;  // of each slot's KV cache
  Backend* backend = nullptr;   // where the model runs (null: the CPU, on the pool)
  int64_t backend_layers = -1;  // layers on `backend` (-1: all; the rest on the CPU)
  int queue_capacity = 16;      // jobs waiting for a slot; one more is refused
  int64_t prefill_chunk = 256;  // prompt tokens one slot evaluates per step
  int64_t step_tokens = 512;    // tokens per forward pass, all slots together (decode steps first)
  ShiftPolicy shift = ShiftPolicy::kAllowed;
  // Speculative decoding: each slot gets a drafter from here (it outlives the scheduler); a
  // generating slot's step evaluates its next token and the guesses together.
  const DraftSource* drafts = nullptr;
};

// What /slots and /props show about a slot.
struct SlotInfo {
  int id = 0;
  std::string state;            // "idle", "prompt", "generating"
  int64_t cached_tokens = 0;
  int64_t generated = 0;
  std::string genkey;
};

struct SchedulerStats {
  int64_t jobs_done = 0;
  int64_t jobs_refused = 0;
  int64_t tokens_generated = 0;
  int64_t prompt_tokens_evaluated = 0;
  int64_t prompt_tokens_reused = 0;
  int64_t forward_passes = 0;
  int64_t draft_tokens = 0;           // guessed by speculative decoding and verified
  int64_t draft_tokens_accepted = 0;  // of those, kept
  int queued = 0;
  int running = 0;
};

class Scheduler {
 public:
  Scheduler(const LlamaModel& model, const Tokenizer& tokenizer, ThreadPool& pool,
            std::vector<std::shared_ptr<const LoraAdapter>> adapters, SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void start();
  // Finishes every queued and running job with an error and joins the thread.
  void stop();

  // Queues a job; an error when the queue is full or the server is stopping.
  Status submit(std::shared_ptr<Job> job);
  // Cancels the jobs with this genkey (queued or running); returns how many.
  int cancel_genkey(const std::string& genkey);
  // Cancels every job; returns how many.
  int cancel_all();
  // How many jobs are queued or running.
  int pending() const;
  // Draining: new jobs are refused from now on (queued and running ones go on).
  void close_intake();
  // The end of a drain: every running job stops now as if its time limit had passed (a clean
  // "length" finish with what it wrote so far), and queued ones end cancelled.
  void cut_short();

  // Runs `action` on slot `id`'s session, on the scheduler's thread between steps, and waits
  // for it (llama.cpp's slot erase / save / restore). An error when the id is unknown, the slot
  // is generating, or the server stops first. After the action the slot's adapter scales are
  // those its session says it was computed with.
  Status with_idle_slot(int id, std::function<Status(Session&)> action);

  std::vector<SlotInfo> slots() const;
  SchedulerStats stats() const;
  int64_t context() const { return context_; }
  int slot_count() const { return static_cast<int>(slots_.size()); }

 private:
  struct Slot;
  void run();
  void admit(std::unique_lock<std::mutex>& lock);
  struct SlotAction {
    int id;
    std::function<Status(Session&)> fn;
    std::promise<Status> done;
  };
  void run_slot_actions(std::unique_lock<std::mutex>& lock);
  Status start_job(Slot& slot, std::shared_ptr<Job> job);
  void step();
  void advance(Slot& slot, std::span<const float> logits);
  void verify(Slot& slot);
  TextCallback stream_to(Slot& slot);
  void continue_or_finish(Slot& slot, std::optional<int32_t> next);
  void end_running(const Error& error);
  void finalize(Slot& slot, std::optional<Error> error = std::nullopt);
  const LinearAdapter* adapter_for(Slot& slot, const std::vector<float>& scales);
  struct Reuse {
    int64_t kept = 0;                         // cached tokens the prompt keeps
    ShiftPolicy shift = ShiftPolicy::kNever;  // whether syncing may shift a span out
  };
  Reuse plan_reuse(const Slot& slot, const Job& job) const;

  const LlamaModel& model_;
  const Tokenizer& tok_;
  Forward forward_;
  std::vector<std::shared_ptr<const LoraAdapter>> adapters_;
  SchedulerOptions options_;
  int64_t context_;
  std::shared_ptr<const TokenTexts> token_texts_;
  std::shared_ptr<const TokenTrie> token_trie_;  // for grammar requests; made on the first
  std::vector<std::unique_ptr<Slot>> slots_;
  uint64_t use_counter_ = 0;  // for least-recently-used slot choice

  mutable std::mutex mutex_;   // guards queue_, stopping_, stats_, and slots' public info
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::deque<SlotAction*> slot_actions_;  // owned by their waiting callers
  bool stopping_ = false;
  bool intake_closed_ = false;
  std::atomic<bool> cut_short_{false};
  SchedulerStats stats_;
  std::thread thread_;
};

}  // namespace limarp::server
