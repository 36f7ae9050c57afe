// Runs one job for one HTTP exchange: submits it (503 when the queue is full), then either
// streams its pieces as Server-Sent Events or waits for the whole text, and cancels it as soon
// as the client hangs up — between tokens, while the prompt is evaluated, or while the job
// still waits for a slot. Each API only says how its events and bodies look.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "server/api_response.h"
#include "server/job.h"
#include "server/server_context.h"

namespace limarp::server {

// How one API writes a job's output.
class ResponseFormat {
 public:
  virtual ~ResponseFormat() = default;
  // Sent once when a stream starts (OpenAI chat's role delta); may be empty.
  virtual std::string stream_start() { return {}; }
  // One SSE event carrying a piece of text (and its tokens' probabilities when asked for).
  virtual std::string stream_piece(const StreamPiece& piece) = 0;
  // The closing event(s) of a stream, [DONE] included where the API has it.
  virtual std::string stream_end(const JobResult& result) = 0;
  // The whole answer when not streaming.
  virtual Json body(const JobResult& result) = 0;
  // An error after the stream started.
  virtual std::string stream_error(const ApiError& error);
};

// "stop" for EOS, stop strings and cancels; "length" for the token limit, the time limit and a
// full context: the two values the KoboldCpp and OpenAI shapes allow.
const char* finish_reason(const JobResult& result);

enum class Streaming { kNo, kYes };

void run_job(const ServerContext& ctx, JobSpec spec, Streaming streaming, ResponseFormat& format, HttpExchange& ex);

}  // namespace limarp::server
