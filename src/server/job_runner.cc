#include "server/job_runner.h"

namespace limarp::server {
namespace {

// How often a waiting handler looks at its client: the longest a departed client's job keeps
// computing.
constexpr std::chrono::milliseconds kPollInterval{50};

}  // namespace

std::string ResponseFormat::stream_error(const ApiError& error) {
  return sse_event({{"error", {{"code", error.status}, {"message", error.message}}}});
}

const char* finish_reason(const JobResult& r) { return finish_reason_name(r.generation.reason); }

void run_job(const ServerContext& ctx, JobSpec spec, Streaming streaming, ResponseFormat& format, HttpExchange& ex) {
  ExchangeRecord& record = ex.record();
  if (ctx.log_prompts) record.prompt_text = ctx.tokenizer->decode(spec.request.prompt);
  auto job = std::make_shared<Job>(std::move(spec));
  job->set_streaming(streaming == Streaming::kYes);
  if (const Status submitted = ctx.scheduler->submit(job); !submitted.ok()) {
    HttpResponse busy = busy_response();
    busy.log_message = submitted.error().message();
    ex.respond(std::move(busy));
    return;
  }
  const bool stream = streaming == Streaming::kYes;
  if (stream && (!ex.start_stream(200, "text/event-stream") || !ex.write(format.stream_start()))) job->cancel();
  for (;;) {
    Job::Update u = job->wait(kPollInterval);
    if (stream)
      for (const StreamPiece& piece : u.pieces)
        if (!job->cancelled() && !ex.write(format.stream_piece(piece))) job->cancel();
    if (u.done) break;
    if (!job->cancelled() && ex.client_gone()) job->cancel();
  }
  const Result<JobResult>& result = job->result();
  if (!result.ok()) {
    const ApiError error{500, result.error().message()};
    record.error = error.message;
    if (stream) ex.write(format.stream_error(error));
    else ex.respond(error_response(error));
    return;
  }
  const JobResult& r = result.value();
  record.prompt_tokens = r.prompt_tokens;
  record.generated_tokens = static_cast<int64_t>(r.generation.tokens.size());
  record.cached_tokens = r.generation.prompt.reused;
  record.slot = r.slot;
  record.prompt_ms = r.generation.prompt_ms;
  record.generation_ms = r.generation.generation_ms;
  record.stop_reason = r.timed_out ? "time" : stop_reason_name(r.generation.reason);
  if (stream) ex.write(format.stream_end(result.value()));
  else ex.respond(json_response(format.body(result.value())));
}

}  // namespace limarp::server
