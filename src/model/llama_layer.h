// One Llama decoder layer, written once for inference and training:
//   xn1 = rmsnorm(x) · attn_norm;  q, k, v = xn1 · W{q,k,v}ᵀ;  rotate q, k;
//   att = causal GQA attention;  x_mid = x + att · Woᵀ;
//   xn2 = rmsnorm(x_mid) · ffn_norm;  h = silu(xn2 · Wgateᵀ) ⊙ (xn2 · Wupᵀ);  x_out = x_mid + h · Wdownᵀ
// What differs between the two is supplied by the caller: where each activation goes
// (inference reuses one set of buffers and updates the residual in place; training keeps every
// layer's activations for its backward pass), how a projection adds its adapters (per-request
// LoRA at inference, trained LoRA factors with dropout in training) and where attention finds
// its keys (the KV cache, or the batch's own rows). llama_layer_backward is its twin.
#pragma once

#include <span>

#include "backend/backend.h"
#include "model/llama_config.h"
#include "model/llama_model.h"

namespace limarp {

// [rows, width] activation buffers of one layer in the backend's workspace. Inference may alias
// x_mid and x_out to x (the residual updated in place), xn2 and proj to xn1, and h to gate;
// training gives each its own, as the backward pass reads them.
struct LayerActivations {
  float* xn1;    // [rows, dim]
  float* q;      // [rows, dim]
  float* k;      // [rows, kv_dim]
  float* v;      // [rows, kv_dim]
  float* att;    // [rows, dim]
  float* lse;    // [rows, n_heads] or null (attention's log-sum-exp, for the backward pass)
  float* proj;   // [rows, dim]: output of the o and down projections before the residual add
  float* x_mid;  // [rows, dim]
  float* xn2;    // [rows, dim]
  float* gate;   // [rows, hidden]
  float* up;     // [rows, hidden]
  float* h;      // [rows, hidden]
};

// The parts of a layer that inference and training do differently.
class LayerHooks {
 public:
  virtual ~LayerHooks() = default;
  // y = x · Wᵀ for projection p of `layer`, plus whatever adapters apply.
  virtual void project(float* y, const float* x, int64_t layer, Projection p) = 0;
  // att (and lse) from the rotated q, k and v of the batch's rows.
  virtual void attend(float* att, float* lse, const float* q, const float* k, const float* v, int64_t layer) = 0;
};

// cos_sin: [rows, head_dim] rotary table of each row's position.
void llama_layer_forward(Backend& backend, const LlamaConfig& config, const LayerWeights& w, int64_t layer,
                         const float* x, float* x_out, const LayerActivations& a, const float* cos_sin, int64_t rows,
                         LayerHooks& hooks);

}  // namespace limarp

namespace limarp {

// Gradient buffers of one layer's backward pass, [rows, width] like the activations.
struct LayerGradients {
  float* dh;     // [rows, hidden]
  float* dgate;  // [rows, hidden]
  float* dup;    // [rows, hidden]
  float* dxn;    // [rows, dim]
  float* datt;   // [rows, dim]
  float* dq;     // [rows, dim]
  float* dk;     // [rows, kv_dim]
  float* dv;     // [rows, kv_dim]
  float* d_attn_norm = nullptr;  // [dim] gradients of the norm weights, or null when frozen
  float* d_ffn_norm = nullptr;
};

class LayerBackwardHooks {
 public:
  virtual ~LayerBackwardHooks() = default;
  // dx += dy · W (dx may be null: no input gradient wanted), plus the gradients of whatever
  // the projection trains (its weight, its LoRA factors).
  virtual void project_backward(float* dx, const float* dy, const float* x, int64_t layer, Projection p) = 0;
  // dq, dk, dv (assigned) from datt, for the attention hooks.attend computed.
  virtual void attend_backward(float* dq, float* dk, float* dv, const float* datt, const LayerActivations& a,
                               int64_t layer) = 0;
};

// Given dx = d loss / d x_out, replaces it with d loss / d x (when want_dx; otherwise dx is
// left as it is, for a first layer whose input gradient nobody reads). `a` holds the
// activations llama_layer_forward recorded for the same x.
void llama_layer_backward(Backend& backend, const LlamaConfig& config, const LayerWeights& w, int64_t layer,
                          const float* x, float* dx, const LayerActivations& a, const LayerGradients& g,
                          const float* cos_sin, int64_t rows, bool want_dx, LayerBackwardHooks& hooks);

}  // namespace limarp
