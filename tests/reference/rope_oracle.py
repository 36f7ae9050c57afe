"""RoPE scaling written from the publications, independently of limarp's C++ code.

Each function returns the inverse frequencies (one per rotary pair) and the factor that
multiplies cos and sin, for a head size `dim`, base `theta` and a rope_scaling dict in Hugging
Face's form ({"rope_type": ..., "factor": ...}), plus "ntk", which Hugging Face lacks:
  linear   Chen et al. 2023, "Extending Context Window of Large Language Models via Positional
           Interpolation": positions divided by the factor, i.e. every frequency / s.
  ntk      bloc97's NTK-aware scaled RoPE (2023): base * s^(dim / (dim - 2)).
  dynamic  the NTK base recomputed for the sequence length L when L exceeds the original
           context: base * (s * L / orig - (s - 1))^(dim / (dim - 2)).
  yarn     Peng et al. 2023, "YaRN: Efficient Context Window Extension of Large Language
           Models", sections 3.2-3.4: per pair r(d) = orig / wavelength(d); pairs with
           r > beta_fast keep their frequency, r < beta_slow are interpolated (/ s), a linear ramp
           between; attention temperature sqrt(1/t) = 0.1 ln s + 1, applied to cos and sin.
           The ramp bounds are the pair indices where r = beta (rounded outwards), as in the
           paper's reference code.
  llama3   Meta's Llama 3.1 scaling: wavelengths above orig / low_freq_factor divided by s,
           below orig / high_freq_factor kept, smoothly mixed between.
"""
import math

import torch


def base_inv_freq(dim, theta):
    return 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))


def pair_index_for_rotations(rotations, dim, theta, orig):
    # wavelength(i) = 2 pi theta^(2i/dim); rotations over orig = orig / wavelength. Solve for i.
    return dim * math.log(orig / (rotations * 2 * math.pi)) / (2 * math.log(theta))


def tables(dim, theta, scaling, orig, seq_len):
    """(inv_freq float64 [dim/2], magnitude) for a run of seq_len tokens."""
    inv = base_inv_freq(dim, theta)
    if not scaling:
        return inv, 1.0
    kind, s = scaling.get("rope_type", scaling.get("type")), float(scaling["factor"])
    orig = scaling.get("original_max_position_embeddings", orig)
    if kind == "linear":
        return inv / s, 1.0
    if kind == "ntk":
        return base_inv_freq(dim, theta * s ** (dim / (dim - 2))), 1.0
    if kind == "dynamic":
        if seq_len <= orig:
            return inv, 1.0
        return base_inv_freq(dim, theta * (s * seq_len / orig - (s - 1)) ** (dim / (dim - 2))), 1.0
    if kind == "yarn":
        beta_fast, beta_slow = scaling.get("beta_fast", 32.0), scaling.get("beta_slow", 1.0)
        lo = max(math.floor(pair_index_for_rotations(beta_fast, dim, theta, orig)), 0)
        hi = min(math.ceil(pair_index_for_rotations(beta_slow, dim, theta, orig)), dim - 1)
        i = torch.arange(dim // 2, dtype=torch.float64)
        ramp = ((i - lo) / max(hi - lo, 0.001)).clamp(0, 1)  # 0 at fast pairs, 1 at slow ones
        keep = 1 - ramp
        inv = (inv / s) * (1 - keep) + inv * keep
        magnitude = scaling.get("attention_factor") or (0.1 * math.log(s) + 1.0 if s > 1 else 1.0)
        return inv, magnitude
    if kind == "llama3":
        low, high = scaling.get("low_freq_factor", 1.0), scaling.get("high_freq_factor", 4.0)
        wavelen = 2 * math.pi / inv
        smooth = (orig / wavelen - low) / (high - low)
        mixed = (1 - smooth) * inv / s + smooth * inv
        out = torch.where(wavelen > orig / low, inv / s, inv)
        return torch.where((wavelen >= orig / high) & (wavelen <= orig / low), mixed, out), 1.0
    raise ValueError(f"unknown rope type {kind}")
