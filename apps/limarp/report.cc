#include "report.h"

#include <cstdio>

namespace limarp::cli {

int report(const Status& status) {
  if (status.ok()) return 0;
  std::fflush(stdout);
  std::fprintf(stderr, "limarp: error: %s\n", status.error().message().c_str());
  return 1;
}

}  // namespace limarp::cli
