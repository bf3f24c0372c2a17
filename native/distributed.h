// Data-parallel training across processes with PyTorch's own c10d: a TCPStore rendezvous and a Gloo
// process group. One process group per process, as torch.distributed has.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <vector>

namespace keras_torch {

// Whether init() has run in this process (and destroy() has not).
bool DistributedActive();
// Averages the gradients of `parameters` across all ranks, in buckets, after backward. No-op when
// distributed training is off.
void AverageGradients(const std::vector<torch::Tensor>& parameters);

Napi::Object InitDistributed(Napi::Env env, Napi::Object exports);

}  // namespace keras_torch
