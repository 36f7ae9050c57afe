// Encoding speed of our Llama-2 tokenizer against libsentencepiece, side by side in one run,
// on ../shared/assets/text/tinystories_sample_2MiB.txt: the whole file as one string, line by
// line (prompt-sized pieces), and 256 KiB without a space. Both sides are checked to give the
// same ids first. Prints tokens/s per case and, at the end, our speed over libsentencepiece's.
//
//   build/release/bench/tokenizer_bench                 (LIMARP_ASSETS overrides the folder)
#include <benchmark/benchmark.h>
#include <sentencepiece_processor.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

using limarp::Tokenizer;

struct Inputs {
  Tokenizer ours;
  sentencepiece::SentencePieceProcessor sp;
  std::string text;                // the 2 MiB sample
  std::vector<std::string> lines;  // its non-empty lines
  std::string no_spaces;           // 256 KiB of letters without a space
};

Inputs* g_inputs = nullptr;  // set once in main, read by the benchmarks

std::string assets_dir() {
  const char* env = std::getenv("LIMARP_ASSETS");
  return env && *env ? env : LIMARP_DEFAULT_ASSETS;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

size_t ours_encode(const std::string& s) { return g_inputs->ours.encode(s, {.add_bos = false}).size(); }
size_t sp_encode(const std::string& s) {
  std::vector<int> ids;
  g_inputs->sp.Encode(s, &ids).IgnoreError();
  return ids.size();
}

template <size_t (*Encode)(const std::string&)>
void BM_WholeFile(benchmark::State& state) {
  size_t tokens = 0;
  for (auto _ : state) tokens += Encode(g_inputs->text);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_inputs->text.size()));
}

template <size_t (*Encode)(const std::string&)>
void BM_Lines(benchmark::State& state) {
  size_t tokens = 0;
  for (auto _ : state)
    for (const std::string& line : g_inputs->lines) tokens += Encode(line);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_inputs->text.size()));
}

template <size_t (*Encode)(const std::string&)>
void BM_NoSpaces(benchmark::State& state) {
  size_t tokens = 0;
  for (auto _ : state) tokens += Encode(g_inputs->no_spaces);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_inputs->no_spaces.size()));
}

BENCHMARK(BM_WholeFile<ours_encode>)->Name("encode_2MiB_whole/limarp")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WholeFile<sp_encode>)->Name("encode_2MiB_whole/sentencepiece")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Lines<ours_encode>)->Name("encode_2MiB_lines/limarp")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Lines<sp_encode>)->Name("encode_2MiB_lines/sentencepiece")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NoSpaces<ours_encode>)->Name("encode_256KiB_no_spaces/limarp")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NoSpaces<sp_encode>)->Name("encode_256KiB_no_spaces/sentencepiece")->Unit(benchmark::kMillisecond);

// Keeps the console output and remembers tokens/s per case for the ratio printed at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      const auto it = r.counters.find("tokens/s");
      if (it != r.counters.end() && r.run_type == Run::RT_Iteration) rates[r.benchmark_name()] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> rates;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const std::string dir = assets_dir();
  const std::string model = dir + "/llama2-tokenizer/tokenizer.model";
  auto ours = Tokenizer::load(model);
  if (!ours.ok()) {
    std::fprintf(stderr, "tokenizer_bench: %s (set LIMARP_ASSETS to the shared assets folder)\n",
                 ours.error().message().c_str());
    return 0;
  }
  Inputs inputs{std::move(ours).value(), {}, read_all(dir + "/text/tinystories_sample_2MiB.txt"), {}, {}};
  if (!inputs.sp.Load(model).ok() || inputs.text.empty()) {
    std::fprintf(stderr, "tokenizer_bench: cannot load %s or the text sample\n", model.c_str());
    return 1;
  }
  std::istringstream lines(inputs.text);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) inputs.lines.push_back(line);
  for (size_t i = 0; inputs.no_spaces.size() < (256u << 10); ++i)
    inputs.no_spaces += static_cast<char>('a' + (i * 7 + i / 26) % 26);
  g_inputs = &inputs;

  // Speed means nothing unless the ids are the same.
  std::vector<int> want;
  inputs.sp.Encode(inputs.text, &want).IgnoreError();
  const auto got = inputs.ours.encode(inputs.text, {.add_bos = false});
  if (std::vector<int32_t>(want.begin(), want.end()) != got) {
    std::fprintf(stderr, "tokenizer_bench: ids differ from libsentencepiece on the sample\n");
    return 1;
  }
  std::printf("sample: %zu bytes, %zu lines, %zu tokens (identical ids from both)\n", inputs.text.size(),
              inputs.lines.size(), got.size());

  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  for (const char* name : {"encode_2MiB_whole", "encode_2MiB_lines", "encode_256KiB_no_spaces"}) {
    const double a = reporter.rates[std::string(name) + "/limarp"];
    const double b = reporter.rates[std::string(name) + "/sentencepiece"];
    if (a > 0 && b > 0)
      std::printf("%-24s limarp %10.0f tokens/s   libsentencepiece %10.0f tokens/s   ratio %.2fx\n", name, a, b, a / b);
  }
  benchmark::Shutdown();
  return 0;
}
