// How a command ends: the exit status it leaves for main, and a failed Status as one line on
// stderr.
#pragma once

#include "base/status.h"

namespace limarp::cli {

// Shared by all commands: where the chosen command leaves its exit status.
struct RunState {
  int exit_code = 0;
};

// Prints "limarp: error: ..." and returns 1 for a failed status; 0 otherwise.
int report(const Status& status);

}  // namespace limarp::cli
