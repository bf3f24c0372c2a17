// Process-wide settings: threads, seeds, devices, and what this libtorch was built with.
#pragma once

#include <napi.h>

#include <functional>

namespace keras_torch {

// libtorch's intra-op thread count is per OS thread: every worker applies the requested count itself.
void ApplyThreadSettings();

// Queues `task` for the process's one libtorch thread, which runs tasks in order. With OpenMP every OS
// thread that enters a parallel region gets a team of its own, so steps hopping between libuv's pool
// threads meet a cold team most calls: the seed CNN's single-image predict took 2.9-3.4 ms with libuv's 4
// threads and 1.2 ms with one. One thread keeps one warm team. `task` must not throw.
void PostToComputeThread(std::function<void()> task);

Napi::Object InitRuntime(Napi::Env env, Napi::Object exports);

}  // namespace keras_torch
