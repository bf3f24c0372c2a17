// Keras 3's preprocessing layers that run inside a model (Normalization, Resizing, CenterCrop and the
// Random* augmentation layers), and the statistics Normalization.adapt reads. The random layers draw from
// a generator of their own, as Dropout does (layers.cc), and transform the whole batch natively.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <optional>
#include <string>

#include "layers.h"
#include "spec.h"

namespace keras_torch {

// The module for a preprocessing layer's spec, or nothing when `kind` is not one of them.
std::optional<BuiltLayer> BuildPreprocessingLayer(const std::string& kind, const SpecReader& spec);

// Restarts a random preprocessing module's stream at `seed`; false for every other module.
bool ReseedPreprocessingStream(const BuiltLayer& layer, uint64_t seed);

// Registers moments(tensor, axes) -> Promise<[mean, variance]> (float64, population variance).
Napi::Object InitPreprocessing(Napi::Env env, Napi::Object exports);

}  // namespace keras_torch
