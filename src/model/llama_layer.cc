#include "model/llama_layer.h"

namespace limarp {

void llama_layer_forward(Backend& be, const LlamaConfig& c, const LayerWeights& w, int64_t l, const float* x,
                         float* x_out, const LayerActivations& a, const float* cos_sin, int64_t rows,
                         LayerHooks& hooks) {
  const int64_t D = c.dim, H = c.hidden_dim, hd = c.head_dim();
  be.rmsnorm(a.xn1, x, w.attn_norm.f32(), rows, D, c.norm_eps);
  hooks.project(a.q, a.xn1, l, Projection::kQ);
  hooks.project(a.k, a.xn1, l, Projection::kK);
  hooks.project(a.v, a.xn1, l, Projection::kV);
  be.rope(a.q, cos_sin, rows, c.n_heads, hd, c.rope_layout);
  be.rope(a.k, cos_sin, rows, c.n_kv_heads, hd, c.rope_layout);
  hooks.attend(a.att, a.lse, a.q, a.k, a.v, l);
  hooks.project(a.proj, a.att, l, Projection::kO);
  be.add(a.x_mid, x, a.proj, rows * D);
  be.rmsnorm(a.xn2, a.x_mid, w.ffn_norm.f32(), rows, D, c.norm_eps);
  hooks.project(a.gate, a.xn2, l, Projection::kGate);
  hooks.project(a.up, a.xn2, l, Projection::kUp);
  be.swiglu(a.h, a.gate, a.up, rows * H);
  hooks.project(a.proj, a.h, l, Projection::kDown);
  be.add(x_out, a.x_mid, a.proj, rows * D);
}

}  // namespace limarp

namespace limarp {

void llama_layer_backward(Backend& be, const LlamaConfig& c, const LayerWeights& w, int64_t l, const float* x,
                          float* dx, const LayerActivations& a, const LayerGradients& g, const float* cos_sin,
                          int64_t rows, bool want_dx, LayerBackwardHooks& hooks) {
  const int64_t D = c.dim, H = c.hidden_dim, hd = c.head_dim();
  // x_out = x_mid + h · Wdownᵀ: dx (the residual's gradient) passes to x_mid unchanged.
  be.zero(g.dh, rows * H);
  hooks.project_backward(g.dh, dx, a.h, l, Projection::kDown);
  // h = silu(gate) * up
  be.swiglu_backward(g.dgate, g.dup, g.dh, a.gate, a.up, rows * H);
  // gate = xn2 · Wgateᵀ, up = xn2 · Wupᵀ
  be.zero(g.dxn, rows * D);
  hooks.project_backward(g.dxn, g.dgate, a.xn2, l, Projection::kGate);
  hooks.project_backward(g.dxn, g.dup, a.xn2, l, Projection::kUp);
  // xn2 = rmsnorm(x_mid) · ffn_norm
  be.rmsnorm_backward(dx, g.d_ffn_norm, g.dxn, a.x_mid, w.ffn_norm.f32(), rows, D, c.norm_eps);
  // x_mid = x + att · Woᵀ
  be.zero(g.datt, rows * D);
  hooks.project_backward(g.datt, dx, a.att, l, Projection::kO);
  hooks.attend_backward(g.dq, g.dk, g.dv, g.datt, a, l);
  // q, k rotated by their positions
  be.rope_backward(g.dq, cos_sin, rows, c.n_heads, hd, c.rope_layout);
  be.rope_backward(g.dk, cos_sin, rows, c.n_kv_heads, hd, c.rope_layout);
  // q = xn1 · Wqᵀ, k = xn1 · Wkᵀ, v = xn1 · Wvᵀ
  float* dxn = want_dx ? g.dxn : nullptr;
  if (want_dx) be.zero(g.dxn, rows * D);
  hooks.project_backward(dxn, g.dq, a.xn1, l, Projection::kQ);
  hooks.project_backward(dxn, g.dk, a.xn1, l, Projection::kK);
  hooks.project_backward(dxn, g.dv, a.xn1, l, Projection::kV);
  if (!want_dx) return;
  // xn1 = rmsnorm(x) · attn_norm
  be.rmsnorm_backward(dx, g.d_attn_norm, g.dxn, x, w.attn_norm.f32(), rows, D, c.norm_eps);
}

}  // namespace limarp
