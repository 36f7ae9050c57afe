#include "server/scheduler.h"

#include <algorithm>

#include "base/exception_guard.h"
#include "base/log.h"
#include "infer/generation.h"

namespace limarp::server {
namespace {

using Clock = std::chrono::steady_clock;

// Shifting keeps the cached tail's keys and values as they were computed, with the removed
// span in view. That is the point for dropped chat turns (recomputing a long tail is what it
// saves), and wrong for a prompt that differs by a few tokens from an unrelated cached one,
// where it would make a seeded reply depend on the slot's history. So a shift must remove a
// turn-sized span and keep a long tail; otherwise the differing part is evaluated afresh.
constexpr int64_t kMinShiftSpan = 16;
constexpr int64_t kMinShiftTail = 64;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

bool all_zero(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; });
}

}  // namespace

struct Scheduler::Slot {
  Slot(int id_, const LlamaModel& model, int64_t context, DType kv_type, Forward& forward)
      : id(id_), session(model, context, kv_type, forward) {}

  enum class Phase { kIdle, kPrompt, kDecode };
  int id;
  Session session;
  Phase phase = Phase::kIdle;
  std::shared_ptr<Job> job;
  std::optional<TextGenerator> gen;
  std::vector<int32_t> prompt;
  size_t prompt_pos = 0;  // next prompt token to evaluate
  int32_t next_token = 0;
  std::vector<float> logits;
  std::vector<float> scales;                 // of adapter_set
  std::unique_ptr<AdapterSet> adapter_set;   // null: no adapter
  uint64_t last_used = 0;
  SyncStats sync;
  Clock::time_point started, prompt_done;
  bool first_sampled = false;
  double first_token_ms = 0;
  SlotInfo info;  // a copy for other threads, guarded by the scheduler's mutex
  std::unique_ptr<Drafter> drafter;  // speculative decoding, when the server does it
  DraftTokens draft;                 // this step's guesses
  std::vector<int32_t> trial;        // next_token, then the guesses
  SpeculativeStats speculative;      // of the running job
};

Scheduler::Scheduler(const LlamaModel& model, const Tokenizer& tokenizer, ThreadPool& pool,
                     std::vector<std::shared_ptr<const LoraAdapter>> adapters, SchedulerOptions options)
    : model_(model),
      tok_(tokenizer),
      forward_(model, pool, options.backend, options.backend_layers),
      adapters_(std::move(adapters)),
      options_(options),
      context_(options.context > 0 ? options.context : model.config().usable_context()),
      token_texts_(token_text_table(tokenizer)) {
  const int n = std::max(1, options_.slots);
  for (int i = 0; i < n; ++i) {
    slots_.push_back(std::make_unique<Slot>(i, model, context_, options.kv_type, forward_));
    if (options_.drafts) slots_.back()->drafter = options_.drafts->make(context_);
    slots_.back()->info.id = i;
    slots_.back()->info.state = "idle";
  }
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Jobs still queued (the thread never ran, or they came in while it stopped).
  std::lock_guard lock(mutex_);
  for (auto& job : queue_) job->finish(make_error("the server is shutting down"));
  queue_.clear();
  for (SlotAction* a : slot_actions_) a->done.set_value(make_error("the server is shutting down"));
  slot_actions_.clear();
}

Status Scheduler::with_idle_slot(int id, std::function<Status(Session&)> action) {
  if (id < 0 || id >= slot_count()) return make_error("no slot {}: this server has slots 0..{}", id, slot_count() - 1);
  SlotAction a{id, std::move(action), {}};
  std::future<Status> done = a.done.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return make_error("the server is shutting down");
    slot_actions_.push_back(&a);
  }
  cv_.notify_all();
  return done.get();
}

// Called with the lock held; the slots' sessions are the scheduler thread's to touch.
void Scheduler::run_slot_actions(std::unique_lock<std::mutex>& lock) {
  while (!slot_actions_.empty()) {
    SlotAction* a = slot_actions_.front();
    slot_actions_.pop_front();
    Slot& slot = *slots_[static_cast<size_t>(a->id)];
    if (slot.phase != Slot::Phase::kIdle) {
      a->done.set_value(make_error("slot {} is busy generating; try again when it is idle", a->id));
      continue;
    }
    lock.unlock();
    Status st = run_guarded([&] { return a->fn(slot.session); });
    if (!slot.session.adapter()) {
      slot.scales.assign(slot.scales.size(), 0.0f);
      slot.adapter_set.reset();
    }
    lock.lock();
    slot.info.cached_tokens = static_cast<int64_t>(slot.session.tokens().size());
    a->done.set_value(std::move(st));
  }
}

Status Scheduler::submit(std::shared_ptr<Job> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return make_error("the server is shutting down");
    if (intake_closed_) {
      ++stats_.jobs_refused;
      return make_error("the server is draining: it finishes running requests and takes no new ones");
    }
    const bool slot_free = std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return s->info.state == "idle"; });
    // A job waits only when no slot is free; the queue holds at most queue_capacity waiting.
    const auto waiting = static_cast<int>(queue_.size()) + (slot_free ? 0 : 1);
    if (waiting > options_.queue_capacity) {
      ++stats_.jobs_refused;
      return make_error("server busy: {} slots generating and {} requests queued", slots_.size(), queue_.size());
    }
    queue_.push_back(std::move(job));
    ++stats_.queued;
  }
  cv_.notify_all();
  return {};
}

int Scheduler::cancel_genkey(const std::string& genkey) {
  std::lock_guard lock(mutex_);
  int n = 0;
  for (auto& job : queue_)
    if (job->spec().genkey == genkey) job->cancel(), ++n;
  for (auto& s : slots_)
    if (s->job && s->job->spec().genkey == genkey) s->job->cancel(), ++n;
  cv_.notify_all();
  return n;
}

int Scheduler::cancel_all() {
  std::lock_guard lock(mutex_);
  int n = 0;
  for (auto& job : queue_) job->cancel(), ++n;
  for (auto& s : slots_)
    if (s->job) s->job->cancel(), ++n;
  cv_.notify_all();
  return n;
}

void Scheduler::close_intake() {
  std::lock_guard lock(mutex_);
  intake_closed_ = true;
}

void Scheduler::cut_short() {
  {
    std::lock_guard lock(mutex_);
    cut_short_ = true;
    for (auto& job : queue_) job->cancel();
  }
  cv_.notify_all();
}

int Scheduler::pending() const {
  std::lock_guard lock(mutex_);
  return stats_.queued + stats_.running;
}

std::vector<SlotInfo> Scheduler::slots() const {
  std::lock_guard lock(mutex_);
  std::vector<SlotInfo> out;
  for (const auto& s : slots_) out.push_back(s->info);
  return out;
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

// ---------------------------------------------------------------------------------------------
// The scheduler thread.

void Scheduler::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto busy = [&] {
      return std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return s->phase != Slot::Phase::kIdle; });
    };
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !slot_actions_.empty() || busy(); });
    if (stopping_) break;
    run_slot_actions(lock);
    admit(lock);
    if (!busy()) continue;
    lock.unlock();
    if (const Status st = run_guarded([this] { step(); }); !st.ok()) end_running(st.error());
    lock.lock();
    for (auto& s : slots_) {
      s->info.cached_tokens = static_cast<int64_t>(s->session.tokens().size());
      s->info.generated = s->gen ? s->gen->generated() : 0;
      s->info.state = s->phase == Slot::Phase::kIdle ? "idle" : s->phase == Slot::Phase::kPrompt ? "prompt" : "generating";
      s->info.genkey = s->job ? s->job->spec().genkey : "";
    }
  }
  // Stopping: end the running jobs; stop() ends the queued ones.
  lock.unlock();
  for (auto& s : slots_)
    if (s->job) finalize(*s, make_error("the server is shutting down"));
}

// Moves queued jobs into free slots (called with the lock held).
void Scheduler::admit(std::unique_lock<std::mutex>& lock) {
  while (!queue_.empty()) {
    std::shared_ptr<Job> job = queue_.front();
    if (job->cancelled()) {
      queue_.pop_front();
      --stats_.queued;
      JobResult r;
      r.generation.reason = StopReason::kCancelled;
      r.queued_ms = ms_between(job->submitted(), Clock::now());
      job->finish(std::move(r));
      continue;
    }
    // Which free slot: one whose cache mostly serves this prompt (the most reusable tokens
    // wins; then the slot asked for; then the least recently used), else the least recently
    // used slot, whose conversation is given up.
    Slot* best = nullptr;
    int64_t best_kept = -1;
    Slot* lru = nullptr;
    for (auto& s : slots_) {
      if (s->phase != Slot::Phase::kIdle) continue;
      if (!lru || s->last_used < lru->last_used) lru = s.get();
      const int64_t kept = plan_reuse(*s, *job).kept;
      if (kept * 2 < static_cast<int64_t>(s->session.tokens().size())) continue;  // mostly another conversation
      const bool hinted = s->id == job->spec().slot_hint, best_hinted = best && best->id == job->spec().slot_hint;
      if (!best || kept > best_kept || (kept == best_kept && (hinted || (!best_hinted && s->last_used < best->last_used)))) {
        best = s.get();
        best_kept = kept;
      }
    }
    if (!best) best = lru;
    if (!best) return;  // every slot busy
    queue_.pop_front();
    --stats_.queued;
    ++stats_.running;
    best->job = job;
    best->info.state = "prompt";
    lock.unlock();
    const Status started = run_guarded([&] { return start_job(*best, job); });
    lock.lock();
    if (!started.ok()) {
      lock.unlock();
      finalize(*best, started.error());
      lock.lock();
    }
  }
}

// A step failed in a way that left no slot's state trustworthy (an exception from below): every
// running job ends with the error, and their caches are dropped rather than reused.
void Scheduler::end_running(const Error& error) {
  log::error("scheduler: {}; ending the running requests", error.message());
  for (auto& s : slots_) {
    if (s->phase == Slot::Phase::kIdle) continue;
    s->session.clear();
    finalize(*s, error);
  }
}

// How a job's prompt would sync into this slot: the reusable prefix, and whether shifting out a
// removed span is worth it (see kMinShiftSpan).
Scheduler::Reuse Scheduler::plan_reuse(const Slot& slot, const Job& job) const {
  Reuse r;
  const std::vector<float>& want = job.spec().lora_scales;
  if (slot.scales != want && !(all_zero(slot.scales) && all_zero(want))) return r;  // other adapter weights
  const std::vector<int32_t>& cached = slot.session.tokens();
  const std::vector<int32_t>& prompt = job.spec().request.prompt;
  const RemovedSpan span = find_removed_span(cached, prompt);
  r.kept = span.begin;
  if (span.end > span.begin && options_.shift == ShiftPolicy::kAllowed) {
    const auto tail = static_cast<int64_t>(common_prefix(std::span<const int32_t>(cached).subspan(static_cast<size_t>(span.end)),
                                                         std::span<const int32_t>(prompt).subspan(static_cast<size_t>(span.begin))));
    if (span.end - span.begin >= kMinShiftSpan && tail >= kMinShiftTail) {
      r.kept += tail;
      r.shift = ShiftPolicy::kAllowed;
    }
  }
  return r;
}

const LinearAdapter* Scheduler::adapter_for(Slot& slot, const std::vector<float>& scales) {
  if (all_zero(scales)) {
    slot.scales.assign(scales.size(), 0.0f);
    slot.adapter_set.reset();
    return nullptr;
  }
  if (slot.adapter_set && slot.scales == scales) return slot.adapter_set.get();
  // A new set. It is made before the old one is freed, so its address differs and the
  // session sees a different adapter (its cache was computed with other weights).
  auto set = std::make_unique<AdapterSet>();
  for (size_t i = 0; i < adapters_.size() && i < scales.size(); ++i)
    if (scales[i] != 0.0f) set->add(adapters_[i], scales[i]);
  slot.adapter_set = std::move(set);
  slot.scales = scales;
  return slot.adapter_set.get();
}

Status Scheduler::start_job(Slot& slot, std::shared_ptr<Job> job) {
  const JobSpec& spec = job->spec();
  slot.started = Clock::now();
  slot.first_sampled = false;
  slot.last_used = ++use_counter_;
  slot.prompt = spec.request.prompt;
  GenerationRequest req = spec.request;
  if (!req.token_texts) req.token_texts = token_texts_;
  if (req.sampler.grammar) {
    // Built on the first grammar request, then shared: only this thread touches it.
    if (!token_trie_) token_trie_ = std::make_shared<const TokenTrie>(*token_texts_);
    req.token_trie = token_trie_;
  }
  LIMARP_ASSIGN_OR_RETURN(TextGenerator gen, TextGenerator::create(tok_, req));
  slot.gen.emplace(std::move(gen));
  slot.speculative = {};
  if (slot.drafter) LIMARP_TRY(slot.drafter->begin(req.sampler));
  if (!spec.cache_prompt) {
    slot.session.clear();
    if (slot.drafter) slot.drafter->reset();
  }
  const ShiftPolicy shift = plan_reuse(slot, *job).shift;  // before the adapter (and its scales) change
  const LinearAdapter* adapter = adapter_for(slot, spec.lora_scales);
  LIMARP_ASSIGN_OR_RETURN(slot.sync, slot.session.begin_sync(slot.prompt, adapter, shift));
  slot.prompt_pos = slot.session.tokens().size();
  slot.phase = Slot::Phase::kPrompt;
  return {};
}

void Scheduler::step() {
  const auto now = Clock::now();
  // Cancelled and timed-out jobs end before anything is computed for them.
  for (auto& s : slots_) {
    if (s->phase == Slot::Phase::kIdle) continue;
    const JobSpec& spec = s->job->spec();
    if (s->job->cancelled()) {
      s->gen->stop(StopReason::kCancelled);
      finalize(*s);
    } else if (cut_short_ || (spec.time_limit.count() > 0 && now - s->started > spec.time_limit)) {
      s->gen->stop(StopReason::kLength);
      finalize(*s, std::nullopt);
      // finalize cleared the job; the flag travels in the result (see finalize).
    }
  }

  // One forward pass: every generating slot's next token, then prompt chunks in slot order.
  std::vector<Session::EvalStep> steps;
  std::vector<Slot*> owners;
  int64_t budget = options_.step_tokens;
  for (auto& s : slots_) {
    if (s->phase != Slot::Phase::kDecode) continue;
    s->draft.clear();
    const int64_t n = s->drafter ? draft_budget(*s->gen, s->session, options_.drafts->draft_n()) : 0;
    if (n > 0) {
      s->trial = s->session.tokens();
      s->trial.push_back(s->next_token);
      // A drafter that fails costs this step its guesses, not the reply.
      if (const Status st = s->drafter->propose(s->trial, n, s->draft); !st.ok()) {
        log::warn("slot {}: drafting failed: {}", s->id, st.error().message());
        s->draft.clear();
      }
      if (static_cast<int64_t>(s->draft.ids.size()) > n) s->draft.ids.resize(static_cast<size_t>(n));
    }
    if (s->draft.ids.empty()) {
      steps.push_back({&s->session, std::span<const int32_t>(&s->next_token, 1), &s->logits});
    } else {
      s->trial.assign(1, s->next_token);
      s->trial.insert(s->trial.end(), s->draft.ids.begin(), s->draft.ids.end());
      steps.push_back({&s->session, s->trial, &s->logits, true});
    }
    owners.push_back(s.get());
    budget -= static_cast<int64_t>(steps.back().tokens.size());
  }
  for (auto& s : slots_) {
    if (s->phase != Slot::Phase::kPrompt) continue;
    if (budget <= 0 && !steps.empty()) break;
    const size_t left = s->prompt.size() - s->prompt_pos;
    const auto n = static_cast<size_t>(std::max<int64_t>(1, std::min<int64_t>({options_.prefill_chunk, budget,
                                                                                 static_cast<int64_t>(left)})));
    const bool last = s->prompt_pos + n == s->prompt.size();
    steps.push_back({&s->session, std::span<const int32_t>(s->prompt).subspan(s->prompt_pos, n), last ? &s->logits : nullptr});
    owners.push_back(s.get());
    budget -= static_cast<int64_t>(n);
  }
  if (steps.empty()) return;
  const Status st = Session::eval_batch(steps, forward_);
  {
    std::lock_guard lock(mutex_);
    ++stats_.forward_passes;
  }
  if (!st.ok()) {
    for (Slot* s : owners) finalize(*s, st.error());
    return;
  }
  for (size_t i = 0; i < owners.size(); ++i) {
    Slot& s = *owners[i];
    if (s.phase == Slot::Phase::kPrompt) {
      s.prompt_pos += steps[i].tokens.size();
      s.sync.evaluated += static_cast<int64_t>(steps[i].tokens.size());
      if (s.prompt_pos < s.prompt.size()) continue;
      s.prompt_done = Clock::now();
      s.phase = Slot::Phase::kDecode;
    } else if (steps[i].trial) {
      verify(s);
      continue;
    }
    advance(s, s.logits);
  }
}

// Walks a speculative step's rows: keeps the guesses the sampler agrees with, then either the
// token it chose instead needs evaluating or the job is over.
void Scheduler::verify(Slot& slot) {
  const SpeculativeStats before = slot.speculative;
  const std::optional<int32_t> next = verify_trial(*slot.gen, slot.session, slot.draft, slot.logits,
                                                   model_.config().vocab_size, stream_to(slot), slot.speculative);
  {
    std::lock_guard lock(mutex_);
    stats_.draft_tokens += slot.speculative.drafted - before.drafted;
    stats_.draft_tokens_accepted += slot.speculative.accepted - before.accepted;
  }
  continue_or_finish(slot, next);
}

// What the generator shows goes to the slot's job; a cancelled job stops it.
TextCallback Scheduler::stream_to(Slot& slot) {
  return [&slot](std::string_view piece) {
    slot.job->push({std::string(piece), slot.gen->take_shown_probs()});
    return !slot.job->cancelled();
  };
}

void Scheduler::continue_or_finish(Slot& slot, std::optional<int32_t> next) {
  if (!next) {
    finalize(slot);
    return;
  }
  slot.next_token = *next;
}

// Samples the slot's next token from `logits`; either it needs evaluating or the job is over.
void Scheduler::advance(Slot& slot, std::span<const float> logits) {
  const std::optional<int32_t> next = slot.gen->step(slot.session, logits, stream_to(slot));
  if (!slot.first_sampled) {
    slot.first_sampled = true;
    slot.first_token_ms = ms_between(slot.job->submitted(), Clock::now());
  }
  continue_or_finish(slot, next);
}

void Scheduler::finalize(Slot& slot, std::optional<Error> error) {
  std::shared_ptr<Job> job = std::move(slot.job);
  slot.job.reset();
  slot.phase = Slot::Phase::kIdle;
  if (!job) return;
  Result<JobResult> out = make_error("unset");
  if (error) {
    out = *error;
  } else {
    JobResult r;
    const bool timed_out = !job->cancelled() && (cut_short_ || (job->spec().time_limit.count() > 0 &&
                                                                Clock::now() - slot.started > job->spec().time_limit));
    r.generation = slot.gen->finish([&job, &slot](std::string_view piece) {
      job->push({std::string(piece), slot.gen->take_shown_probs()});
      return true;
    });
    // Tokens whose text never showed (a partial character at the end) still report theirs.
    if (std::vector<TokenProbs> rest = slot.gen->take_shown_probs(); !rest.empty()) job->push({"", std::move(rest)});
    r.timed_out = timed_out && r.generation.reason == StopReason::kLength;
    r.generation.prompt = slot.sync;
    const auto end = Clock::now();
    const auto prompt_end = slot.prompt_done.time_since_epoch().count() ? slot.prompt_done : end;
    r.generation.prompt_ms = ms_between(slot.started, std::max(slot.started, prompt_end));
    r.generation.generation_ms = ms_between(std::max(slot.started, prompt_end), end);
    r.slot = slot.id;
    r.prompt_tokens = static_cast<int64_t>(slot.prompt.size());
    r.queued_ms = ms_between(job->submitted(), slot.started);
    r.first_token_ms = slot.first_token_ms;
    out = std::move(r);
  }
  {
    std::lock_guard lock(mutex_);
    --stats_.running;
    ++stats_.jobs_done;
    if (out.ok()) {
      stats_.tokens_generated += static_cast<int64_t>(out->generation.tokens.size());
      stats_.prompt_tokens_evaluated += out->generation.prompt.evaluated;
      stats_.prompt_tokens_reused += out->generation.prompt.reused;
    }
    slot.info.state = "idle";
    slot.info.genkey.clear();
  }
  slot.gen.reset();
  slot.prompt_done = {};
  job->finish(std::move(out));
}

}  // namespace limarp::server
