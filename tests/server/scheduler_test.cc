// The scheduler on a real model (stories260K): replies under batching equal the single-reply
// loop's with the same seed, slots reuse their cached prefix, the queue is bounded, jobs can be
// cancelled and time out, and per-request LoRA scales give each job its own weights.
#include <gtest/gtest.h>

#include <thread>

#include "infer/generation.h"
#include "infer/model_bundle.h"
#include "model/lora_random.h"
#include "server/scheduler.h"
#include "support/test_support.h"

namespace limarp::server {
namespace {

struct Collected {
  std::string streamed;
  Result<JobResult> result = make_error("not finished");
};

Collected collect(const std::shared_ptr<Job>& job) {
  Collected c;
  for (;;) {
    Job::Update u = job->wait(std::chrono::milliseconds(100));
    for (const auto& p : u.pieces) c.streamed += p.text;
    if (u.done) break;
  }
  c.result = job->result();
  return c;
}

JobSpec spec_for(const Tokenizer& tok, const std::string& prompt, uint64_t seed, int64_t max_tokens) {
  JobSpec s;
  s.request.prompt = tok.encode(prompt);
  s.request.max_tokens = max_tokens;
  s.request.sampler.seed = seed;
  s.request.sampler.temperature = 1.0f;
  s.request.continue_text = true;
  s.request.stop = {"\n\n"};
  return s;
}

// What the terminal chat's loop gives for the same request on a fresh session. On a pool of
// its own: the scheduler's thread is still driving the fixture's pool, and a pool (with its
// threads' scratch arenas) serves one driving thread at a time.
std::string alone(const ModelBundle& b, const GenerationRequest& req, const LinearAdapter* adapter = nullptr) {
  ThreadPool pool(2);
  Forward fwd(b.model, pool);
  Session session(b.model, 512);
  GenerationRequest r = req;
  r.adapter = adapter;
  auto out = generate_text(session, fwd, *b.tokenizer, r, nullptr);
  EXPECT_TRUE(out.ok()) << out.error().message();
  return out.ok() ? out->text : "";
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto path = ::limarp::testing::asset_path("stories260K/stories260K.gguf");
    if (!path) {
      if (::limarp::testing::in_ci()) FAIL() << "missing stories260K";
      GTEST_SKIP() << "test assets not found";
    }
    auto b = load_model_bundle(*path);
    ASSERT_TRUE(b.ok()) << b.error().message();
    bundle_ = std::make_unique<ModelBundle>(std::move(*b));
  }
  std::unique_ptr<ModelBundle> bundle_;
  ThreadPool pool_{2};
};

const std::vector<std::string> kPrompts = {"Once upon a time", "Lily wanted a", "The sun was", "Tom and his dog",
                                           "One day, a little bird", "The big red ball", "Mom said"};

TEST_F(SchedulerTest, SeededRepliesAreTheSameAloneOrBatched) {
  SchedulerOptions o;
  o.slots = 4;
  o.context = 512;
  o.prefill_chunk = 3;  // prompts in pieces, mixed with other slots' decoding
  Scheduler sched(bundle_->model, *bundle_->tokenizer, pool_, {}, o);
  sched.start();
  std::vector<std::shared_ptr<Job>> jobs;
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    jobs.push_back(std::make_shared<Job>(spec_for(*bundle_->tokenizer, kPrompts[i], 100 + i, 60)));
    ASSERT_TRUE(sched.submit(jobs.back()).ok());
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    Collected c = collect(jobs[i]);
    ASSERT_TRUE(c.result.ok()) << c.result.error().message();
    const std::string want = alone(*bundle_, jobs[i]->spec().request);
    EXPECT_EQ(c.result->generation.text, want) << "job " << i;
    EXPECT_EQ(c.streamed, want) << "job " << i << ": streamed pieces";
    EXPECT_FALSE(want.empty());
  }
  // Unbatched, every generated token would need a pass of its own (prompt chunks need more).
  EXPECT_LT(sched.stats().forward_passes, sched.stats().tokens_generated) << "decode steps were batched";
}

TEST_F(SchedulerTest, ASlotReusesItsCachedPrefix) {
  SchedulerOptions o;
  o.slots = 2;
  o.context = 512;
  Scheduler sched(bundle_->model, *bundle_->tokenizer, pool_, {}, o);
  sched.start();
  const std::string story = "Once upon a time, there was a little girl named Lily. She loved to play outside.";
  auto first = std::make_shared<Job>(spec_for(*bundle_->tokenizer, story, 1, 8));
  ASSERT_TRUE(sched.submit(first).ok());
  ASSERT_TRUE(collect(first).result.ok());
  // Another conversation in between takes the other slot.
  auto other = std::make_shared<Job>(spec_for(*bundle_->tokenizer, "Tom had a big dog.", 2, 8));
  ASSERT_TRUE(sched.submit(other).ok());
  ASSERT_TRUE(collect(other).result.ok());
  // The story goes on: only the new part is evaluated, in the slot that holds the story.
  auto next = std::make_shared<Job>(spec_for(*bundle_->tokenizer, story + " One day she found a ball.", 3, 8));
  ASSERT_TRUE(sched.submit(next).ok());
  Collected c = collect(next);
  ASSERT_TRUE(c.result.ok());
  const auto story_tokens = static_cast<int64_t>(bundle_->tokenizer->encode(story).size());
  EXPECT_GE(c.result->generation.prompt.reused, story_tokens - 1);
  EXPECT_LE(c.result->generation.prompt.evaluated, c.result->prompt_tokens - story_tokens + 2);
  EXPECT_EQ(c.result->slot, collect(first).result->slot);
}

TEST_F(SchedulerTest, TheQueueIsBoundedAndCancelledJobsLeaveIt) {
  SchedulerOptions o;
  o.slots = 1;
  o.queue_capacity = 2;
  o.context = 256;
  Scheduler sched(bundle_->model, *bundle_->tokenizer, pool_, {}, o);  // not started: nothing moves
  std::vector<std::shared_ptr<Job>> jobs;
  for (int i = 0; i < 3; ++i) {
    jobs.push_back(std::make_shared<Job>(spec_for(*bundle_->tokenizer, kPrompts[static_cast<size_t>(i)], 7, 10)));
    EXPECT_TRUE(sched.submit(jobs.back()).ok()) << i;  // one for the free slot, two waiting
  }
  auto refused = std::make_shared<Job>(spec_for(*bundle_->tokenizer, "x", 7, 10));
  const Status busy = sched.submit(refused);
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.error().message().find("busy"), std::string::npos);
  EXPECT_EQ(sched.stats().jobs_refused, 1);
  jobs[1]->cancel();
  sched.start();
  EXPECT_TRUE(collect(jobs[0]).result->generation.reason != StopReason::kCancelled);
  EXPECT_EQ(collect(jobs[1]).result->generation.reason, StopReason::kCancelled);
  EXPECT_TRUE(collect(jobs[2]).result.ok());
}

TEST_F(SchedulerTest, RunningJobsStopOnCancelAndOnTheTimeLimit) {
  SchedulerOptions o;
  o.slots = 2;
  o.context = 2048;
  Scheduler sched(bundle_->model, *bundle_->tokenizer, pool_, {}, o);
  sched.start();
  auto endless = [&](uint64_t seed) {
    JobSpec s = spec_for(*bundle_->tokenizer, "Once upon a time", seed, 2000);
    s.request.stop.clear();
    s.request.stop_at_eos = false;
    return s;
  };
  auto cancelled = std::make_shared<Job>(endless(1));
  JobSpec timed_spec = endless(2);
  timed_spec.time_limit = std::chrono::milliseconds(20);
  auto timed = std::make_shared<Job>(timed_spec);
  ASSERT_TRUE(sched.submit(cancelled).ok());
  ASSERT_TRUE(sched.submit(timed).ok());
  while (cancelled->wait(std::chrono::milliseconds(100)).pieces.empty()) {
  }
  cancelled->cancel();
  Collected c = collect(cancelled);
  ASSERT_TRUE(c.result.ok());
  EXPECT_EQ(c.result->generation.reason, StopReason::kCancelled);
  EXPECT_LT(c.result->generation.tokens.size(), 2000u);
  Collected t = collect(timed);
  ASSERT_TRUE(t.result.ok());
  EXPECT_TRUE(t.result->timed_out);
  EXPECT_EQ(t.result->generation.reason, StopReason::kLength);
  EXPECT_LT(t.result->generation.tokens.size(), 2000u);
  EXPECT_EQ(sched.pending(), 0);
}

TEST_F(SchedulerTest, PerRequestLoraScalesGiveEachJobItsOwnWeights) {
  RandomLoraOptions lo;
  lo.rank = 4;
  lo.type = DType::kF32;
  lo.stddev = 0.5f;
  auto lora = random_lora(bundle_->model, lo);
  ASSERT_TRUE(lora.ok()) << lora.error().message();
  auto shared = std::make_shared<const LoraAdapter>(std::move(*lora));
  SchedulerOptions o;
  o.slots = 3;
  o.context = 256;
  Scheduler sched(bundle_->model, *bundle_->tokenizer, pool_, {shared}, o);
  sched.start();
  std::vector<std::shared_ptr<Job>> jobs;
  for (float scale : {0.0f, 1.0f, 0.5f}) {
    JobSpec s = spec_for(*bundle_->tokenizer, "Once upon a time", 5, 30);
    s.request.sampler.temperature = 0;  // greedy: differences come from the weights alone
    s.lora_scales = {scale};
    jobs.push_back(std::make_shared<Job>(s));
    ASSERT_TRUE(sched.submit(jobs.back()).ok());
  }
  std::vector<std::string> texts;
  for (size_t i = 0; i < jobs.size(); ++i) {
    Collected c = collect(jobs[i]);
    ASSERT_TRUE(c.result.ok());
    texts.push_back(c.result->generation.text);
  }
  AdapterSet one, half;
  one.add(shared, 1.0f);
  half.add(shared, 0.5f);
  EXPECT_EQ(texts[0], alone(*bundle_, jobs[0]->spec().request));
  EXPECT_EQ(texts[1], alone(*bundle_, jobs[1]->spec().request, &one));
  EXPECT_EQ(texts[2], alone(*bundle_, jobs[2]->spec().request, &half));
  EXPECT_NE(texts[0], texts[1]);
}

}  // namespace
}  // namespace limarp::server
