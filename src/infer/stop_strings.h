// Stop strings for streamed text. Fed the decoded text piece by piece, the matcher stops
// at the first stop string even when it spans several tokens, never lets part of a stop string
// reach the screen (text that could be the start of one is held back until it is decided),
// and leaves the stop string out of the reply.
//
//   StopStringMatcher stop(default_stop_strings(chat));    // chat/limarp_stop_strings.h
//   for each token: {
//     std::string shown = stop.push(decoder.push(id));   // print this
//     if (stop.stopped()) break;
//   }
//   std::string rest = stop.finish();                     // print this too
//   chat.messages.push_back({ChatRole::kChar, stop.reply()});
//   if (hit the token limit) reply = trim_unfinished_sentence(reply);
//
// The reply is the shown text: its leading whitespace (the space the model writes after
// "Name:") is dropped, and trailing whitespace is held back and dropped at the end, so the
// stored message is trimmed and needs no further cleaning.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace limarp {

// kTrim: a chat reply (leading and trailing whitespace dropped, as described above).
// kExact: a raw completion; the text is passed through unchanged except for stop strings.
enum class ReplyWhitespace { kTrim, kExact };

class StopStringMatcher {
 public:
  explicit StopStringMatcher(std::vector<std::string> stops, ReplyWhitespace whitespace = ReplyWhitespace::kTrim);

  // Adds decoded text; returns the part that is now safe to show (possibly empty).
  std::string push(std::string_view piece);
  // Generation ended (EOS, token limit, Ctrl-C): returns whatever was held back that is not a
  // stop string's start... or is: at the end nothing more can complete it, so held text is
  // shown, minus trailing whitespace.
  std::string finish();
  bool stopped() const { return stopped_; }
  // The stop string that matched ("" when none).
  const std::string& matched() const { return matched_; }
  // Everything shown so far: after stopped() or finish(), the final reply.
  const std::string& reply() const { return reply_; }
  const std::vector<std::string>& stops() const { return stops_; }
  void reset();

 private:
  std::string emit(std::string_view text);

  std::vector<std::string> stops_;
  std::string held_;   // received, not shown yet
  std::string reply_;  // shown
  std::string matched_;
  bool stopped_ = false;
  bool finished_ = false;
  bool trim_ = true;
};

// Cuts a reply that hit the token limit back to its last complete sentence: after the last
// ".", "!", "?", "…" followed by closing quotes, brackets or asterisks and then whitespace or
// the end (so "3.5" is no sentence end), or after 。！？ (no space needed), or at the last line
// break if that comes later. Text with no such
// boundary is returned whole (trimmed): a fragment is better than nothing.
std::string trim_unfinished_sentence(std::string_view text);

}  // namespace limarp
