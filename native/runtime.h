// Process-wide settings: threads, seeds, devices, and what this libtorch was built with.
#pragma once

#include <napi.h>

namespace keras_torch {

// libtorch's intra-op thread count is per OS thread: every worker applies the requested count itself.
void ApplyThreadSettings();

Napi::Object InitRuntime(Napi::Env env, Napi::Object exports);

}  // namespace keras_torch
