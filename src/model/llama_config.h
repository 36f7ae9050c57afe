// Llama-2 hyper-parameters, read from (and written to) the llama.* metadata keys that every
// reader produces, whatever the file format.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "formats/metadata.h"
#include "kernels/rope.h"
#include "model/rope_scaling.h"

namespace limarp {

struct LlamaConfig {
  int64_t dim = 0;            // model width (hidden_size)
  int64_t hidden_dim = 0;     // feed-forward width (intermediate_size)
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;     // < n_heads for grouped-query attention
  int64_t vocab_size = 0;
  int64_t context_length = 0; // trained context
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;   // none unless the file or the command line asks
  RopeLayout rope_layout = RopeLayout::kInterleaved;
  bool tied_output = false;   // output matrix shared with the token embedding

  int64_t head_dim() const { return dim / n_heads; }
  int64_t kv_dim() const { return head_dim() * n_kv_heads; }
  int64_t parameter_count() const;
  // The rotary table every forward pass, backward pass and cache shift uses.
  RopeFrequencies rope_frequencies() const {
    return limarp::rope_frequencies(rope_scaling, rope_theta, head_dim(), context_length);
  }
  // The context a run gets when it asks for none: the trained one, or what the scaling extends
  // the original context to.
  int64_t usable_context() const;

  Status validate() const;
  static Result<LlamaConfig> from_metadata(const Metadata& m, const std::string& source);
  void to_metadata(Metadata& m) const;  // llama.* keys, GGUF conventions
  std::string describe() const;         // one line for logs and `limarp info`
};

// Named shapes for `limarp init` and benchmarks.
Result<LlamaConfig> named_shape(const std::string& name);
std::string named_shape_list();

}  // namespace limarp
