// The access log: one line per exchange on stderr, as text for people or as JSON for log
// shippers. Prompt text appears only when the operator asked for it (--log-prompts): prompts
// are users' private roleplay.
//
//   text: 2026-12-05T14:58:01.123Z 127.0.0.1:53412 "POST /v1/completions" 200 153.2ms prompt=12 gen=8 cached=0 slot=0 stop=eos
//   json: {"time":"2026-12-05T14:58:01.123Z","client":"127.0.0.1:53412","method":"POST",...}
#pragma once

#include <string>

#include "server/exchange_record.h"

namespace limarp::server {

enum class AccessLogFormat { kText, kJson, kOff };

std::string access_log_line(const ExchangeRecord& record, AccessLogFormat format);

}  // namespace limarp::server
