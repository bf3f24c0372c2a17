// The Tensor boundary: a JS typed array becomes a torch::Tensor without a copy, and libtorch results
// come back to JS as owned tensors whose memory V8 is told about.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <string>

namespace keras_torch {

// "float32" <-> torch::kFloat32 and friends; throws std::invalid_argument for unknown names.
torch::ScalarType DtypeFromName(const std::string& name);
std::string DtypeName(torch::ScalarType dtype);

class NativeTensor : public Napi::ObjectWrap<NativeTensor> {
 public:
  static Napi::Function Init(Napi::Env env);
  // Wraps a tensor that libtorch owns (a result); its bytes are reported to V8 as external memory.
  static Napi::Object FromTorch(Napi::Env env, torch::Tensor tensor);
  // The live NativeTensor behind `value`, or throws a TypeError naming `argument` when it is not a live NativeTensor.
  static NativeTensor* FromValue(Napi::Value value, const std::string& argument);
  static bool IsNativeTensor(Napi::Value value);

  explicit NativeTensor(const Napi::CallbackInfo& info);
  ~NativeTensor() override;

  const torch::Tensor& tensor() const { return tensor_; }
  // The JS ArrayBuffer whose memory the tensor borrows, or undefined: work that reads the tensor after this
  // call keeps it alive, so that dispose() or garbage collection of the Tensor cannot free it underneath.
  Napi::Value BorrowedBuffer(Napi::Env env) const;

 private:
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value DataSync(const Napi::CallbackInfo& info);
  Napi::Value Data(const Napi::CallbackInfo& info);
  Napi::Value Reshape(const Napi::CallbackInfo& info);
  Napi::Value Narrow(const Napi::CallbackInfo& info);
  Napi::Value Take(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  void Dispose(const Napi::CallbackInfo& info);

  void ThrowIfDisposed(Napi::Env env) const;
  // Also refuses a tensor whose borrowed ArrayBuffer was detached (transferred) or shrunk (resizable).
  void ThrowIfUnreadable(Napi::Env env, const std::string& argument) const;
  Napi::Object WrapDerived(Napi::Env env, const torch::Tensor& result);
  void Release();

  torch::Tensor tensor_;
  // The JS ArrayBuffer whose memory tensor_ borrows (zero-copy input); empty for libtorch-owned tensors.
  Napi::Reference<Napi::Value> borrowedBuffer_;
  int64_t externalBytes_ = 0;
  bool disposed_ = false;
};

Napi::Value ConcatTensors(const Napi::CallbackInfo& info);

// Copies a (CPU, contiguous) tensor into a new JS typed array of the matching kind.
Napi::Value TypedArrayFromTensor(Napi::Env env, const torch::Tensor& cpuContiguous);

}  // namespace keras_torch
