#include "tensor.h"

#include <cstring>
#include <stdexcept>

#include "addon_data.h"
#include "async.h"
#include "errors.h"

namespace keras_torch {

torch::ScalarType DtypeFromName(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "float64") return torch::kFloat64;
  if (name == "int32") return torch::kInt32;
  if (name == "int64") return torch::kInt64;
  if (name == "uint8") return torch::kUInt8;
  if (name == "bool") return torch::kBool;
  throw std::invalid_argument("expected dtype float32, float64, int32, int64, uint8 or bool but received " +
                              name);
}

std::string DtypeName(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kInt32: return "int32";
    case torch::kInt64: return "int64";
    case torch::kUInt8: return "uint8";
    case torch::kBool: return "bool";
    default: return c10::toString(dtype);
  }
}

namespace {

napi_typedarray_type TypedArrayKind(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32: return napi_float32_array;
    case torch::kFloat64: return napi_float64_array;
    case torch::kInt32: return napi_int32_array;
    case torch::kInt64: return napi_bigint64_array;
    case torch::kUInt8:
    case torch::kBool: return napi_uint8_array;
    default: throw std::invalid_argument("tensors of dtype " + DtypeName(dtype) + " cannot be read from JS");
  }
}

std::string TypedArrayKindName(napi_typedarray_type kind) {
  switch (kind) {
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_int32_array: return "Int32Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_uint8_array: return "Uint8Array";
    default: return "another typed array";
  }
}

}  // namespace

Napi::Value TypedArrayFromTensor(Napi::Env env, const torch::Tensor& cpuContiguous) {
  napi_typedarray_type kind = TypedArrayKind(cpuContiguous.scalar_type());
  size_t length = static_cast<size_t>(cpuContiguous.numel());
  size_t bytes = length * cpuContiguous.element_size();
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(buffer.Data(), cpuContiguous.data_ptr(), bytes);
  napi_value result;
  napi_status status = napi_create_typedarray(env, kind, length, buffer, 0, &result);
  NAPI_THROW_IF_FAILED(env, status, Napi::Value());
  return Napi::Value(env, result);
}

Napi::Function NativeTensor::Init(Napi::Env env) {
  return DefineClass(env, "NativeTensor",
                     {
                         InstanceMethod("shape", &NativeTensor::Shape),
                         InstanceMethod("dtype", &NativeTensor::Dtype),
                         InstanceMethod("device", &NativeTensor::Device),
                         InstanceMethod("isDisposed", &NativeTensor::IsDisposed),
                         InstanceMethod("dataSync", &NativeTensor::DataSync),
                         InstanceMethod("data", &NativeTensor::Data),
                         InstanceMethod("reshape", &NativeTensor::Reshape),
                         InstanceMethod("narrow", &NativeTensor::Narrow),
                         InstanceMethod("take", &NativeTensor::Take),
                         InstanceMethod("to", &NativeTensor::To),
                         InstanceMethod("dispose", &NativeTensor::Dispose),
                     });
}

namespace {
// What the External handed to the constructor carries.
struct AdoptedTensor {
  torch::Tensor tensor;
  bool ownsStorage;  // false for views, whose bytes the viewed tensor already reports
};

Napi::Object Adopt(Napi::Env env, torch::Tensor tensor, bool ownsStorage) {
  auto* adopted = new AdoptedTensor{std::move(tensor), ownsStorage};
  Napi::External<AdoptedTensor> external =
      Napi::External<AdoptedTensor>::New(env, adopted, [](Napi::Env, AdoptedTensor* data) { delete data; });
  return AddonData::Get(env)->tensorConstructor.New({external});
}
}  // namespace

Napi::Object NativeTensor::FromTorch(Napi::Env env, torch::Tensor tensor) { return Adopt(env, std::move(tensor), true); }

bool NativeTensor::IsNativeTensor(Napi::Value value) {
  if (!value.IsObject()) return false;
  return value.As<Napi::Object>().InstanceOf(AddonData::Get(value.Env())->tensorConstructor.Value());
}

NativeTensor* NativeTensor::FromValue(Napi::Value value, const std::string& argument) {
  Napi::Env env = value.Env();
  if (!IsNativeTensor(value)) {
    throw Napi::TypeError::New(env, "Expected " + argument + " to be a Tensor");
  }
  NativeTensor* unwrapped = Napi::ObjectWrap<NativeTensor>::Unwrap(value.As<Napi::Object>());
  if (unwrapped->disposed_) {
    throw Napi::Error::New(env, argument + ": the Tensor has been disposed; it cannot be used any more");
  }
  unwrapped->ThrowIfUnreadable(env, argument);
  return unwrapped;
}

Napi::Value NativeTensor::BorrowedBuffer(Napi::Env env) const {
  return borrowedBuffer_.IsEmpty() ? env.Undefined() : borrowedBuffer_.Value();
}

void NativeTensor::ThrowIfUnreadable(Napi::Env env, const std::string& argument) const {
  // An empty tensor reads nothing (and an empty ArrayBuffer may have no memory at all).
  if (borrowedBuffer_.IsEmpty() || !tensor_.defined() || tensor_.storage().nbytes() == 0) return;
  Napi::Value value = borrowedBuffer_.Value();
  bool detached = false;
  if (value.IsArrayBuffer()) NAPI_THROW_IF_FAILED_VOID(env, napi_is_detached_arraybuffer(env, value, &detached));
  // The bytes the tensor's storage spans must still lie inside the buffer: a transferred ArrayBuffer is
  // empty, a resizable one may have shrunk, and the memory would be another owner's or none.
  size_t available = 0;
  const uint8_t* data = nullptr;
  if (!detached) {
    void* raw = nullptr;
    NAPI_THROW_IF_FAILED_VOID(env, napi_get_arraybuffer_info(env, value, &raw, &available));
    data = static_cast<const uint8_t*>(raw);
  }
  const auto* start = static_cast<const uint8_t*>(tensor_.storage().data());
  const size_t needed = tensor_.storage().nbytes();
  if (detached || data == nullptr || start < data || static_cast<size_t>(start - data) + needed > available) {
    throw Napi::Error::New(env, argument + ": the Tensor's memory is gone: its ArrayBuffer was " +
                                    (detached ? "detached (transferred to a worker or structuredClone)" : "shrunk") +
                                    "; make the tensor again from data that stays in place");
  }
}

// new NativeTensor(typedArray, shape, dtype) borrows the typed array's memory;
// new NativeTensor(External<torch::Tensor>) adopts a libtorch result.
NativeTensor::NativeTensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTensor>(info) {
  Napi::Env env = info.Env();
  if (info.Length() == 1 && info[0].IsExternal()) {
    AdoptedTensor* adopted = info[0].As<Napi::External<AdoptedTensor>>().Data();
    // Moved, not copied: the External lives until the GC finalises it, and must not keep the memory
    // alive after dispose().
    tensor_ = std::move(adopted->tensor);
    // V8 cannot see libtorch's allocations; telling it their size lets the GC keep pace with them.
    if (adopted->ownsStorage && tensor_.defined() && tensor_.device().is_cpu()) {
      externalBytes_ = static_cast<int64_t>(tensor_.storage().nbytes());
      ReportExternalMemory(env, externalBytes_);
    }
    return;
  }
  if (info.Length() != 3 || !info[0].IsTypedArray() || !info[1].IsArray() || !info[2].IsString()) {
    throw Napi::TypeError::New(env, "NativeTensor: expected (typedArray, shape, dtype)");
  }
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  Napi::Array shapeArray = info[1].As<Napi::Array>();
  std::string dtypeName = info[2].As<Napi::String>().Utf8Value();
  Guard(env, "tensor", [&] {
    torch::ScalarType dtype = DtypeFromName(dtypeName);
    if (array.TypedArrayType() != TypedArrayKind(dtype)) {
      throw std::invalid_argument("expected a " + TypedArrayKindName(TypedArrayKind(dtype)) + " for dtype " +
                                  dtypeName + " but received a " + TypedArrayKindName(array.TypedArrayType()));
    }
    std::vector<int64_t> shape;
    int64_t count = 1;
    for (uint32_t i = 0; i < shapeArray.Length(); ++i) {
      Napi::Value dimension = shapeArray.Get(i);
      double size = dimension.IsNumber() ? dimension.As<Napi::Number>().DoubleValue() : -1;
      if (!(size >= 0) || size != static_cast<double>(static_cast<int64_t>(size))) {
        throw std::invalid_argument("expected shape to hold non-negative integers but received " +
                                    dimension.ToString().Utf8Value() + " at index " + std::to_string(i));
      }
      shape.push_back(static_cast<int64_t>(size));
      count *= shape.back();
    }
    if (count != static_cast<int64_t>(array.ElementLength())) {
      throw std::invalid_argument("shape " + ShapeToString(shape) + " holds " + std::to_string(count) +
                                  " values but the typed array holds " + std::to_string(array.ElementLength()));
    }
    // byteOffset matters: a typed array may be a window on a larger ArrayBuffer (a Node Buffer pool).
    auto* base = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
    tensor_ = torch::from_blob(base, shape, torch::TensorOptions().dtype(dtype));
  });
  borrowedBuffer_ = Napi::Persistent(Napi::Value(array.ArrayBuffer()));
}

NativeTensor::~NativeTensor() { Release(); }

void NativeTensor::Release() {
  if (externalBytes_ != 0) {
    ReportExternalMemory(Env(), -externalBytes_);
    externalBytes_ = 0;
  }
  tensor_ = torch::Tensor();
  if (!borrowedBuffer_.IsEmpty()) borrowedBuffer_.Reset();
}

void NativeTensor::ThrowIfDisposed(Napi::Env env) const {
  if (disposed_) throw Napi::Error::New(env, "Tensor: the Tensor has been disposed; it cannot be used any more");
}

Napi::Value NativeTensor::Shape(const Napi::CallbackInfo& info) {
  ThrowIfDisposed(info.Env());
  Napi::Array shape = Napi::Array::New(info.Env(), tensor_.dim());
  for (int64_t i = 0; i < tensor_.dim(); ++i) shape.Set(static_cast<uint32_t>(i), static_cast<double>(tensor_.size(i)));
  return shape;
}

Napi::Value NativeTensor::Dtype(const Napi::CallbackInfo& info) {
  ThrowIfDisposed(info.Env());
  return Napi::String::New(info.Env(), DtypeName(tensor_.scalar_type()));
}

Napi::Value NativeTensor::Device(const Napi::CallbackInfo& info) {
  ThrowIfDisposed(info.Env());
  return Napi::String::New(info.Env(), tensor_.device().str());
}

Napi::Value NativeTensor::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed_);
}

Napi::Value NativeTensor::DataSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ThrowIfDisposed(env);
  ThrowIfUnreadable(env, "Tensor");
  return Guard(env, "Tensor.dataSync", [&] {
    return TypedArrayFromTensor(env, tensor_.to(torch::kCPU).contiguous());
  });
}

Napi::Value NativeTensor::Data(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ThrowIfDisposed(env);
  ThrowIfUnreadable(env, "Tensor");
  // The copy to the host runs on a libuv worker, so that device transfers never block JS; the tensor's
  // JS object (and any buffer it borrows) stays alive until then.
  torch::Tensor tensor = tensor_;
  return PoolPromise<torch::Tensor>::Run(
      env, "Tensor.data", [tensor] { return tensor.to(torch::kCPU).contiguous(); },
      [](Napi::Env env, torch::Tensor& host) { return TypedArrayFromTensor(env, host); }, {info.This(), BorrowedBuffer(env)});
}

// Wraps `result` of an operation on this tensor; when it is a view, it keeps the borrowed JS buffer (if
// any) alive too, and reports no bytes of its own.
Napi::Object NativeTensor::WrapDerived(Napi::Env env, const torch::Tensor& result) {
  bool isView = result.is_alias_of(tensor_);
  Napi::Object wrapped = Adopt(env, result, !isView);
  if (isView && !borrowedBuffer_.IsEmpty()) {
    Napi::ObjectWrap<NativeTensor>::Unwrap(wrapped)->borrowedBuffer_ = Napi::Persistent(borrowedBuffer_.Value());
  }
  return wrapped;
}

Napi::Value NativeTensor::Reshape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ThrowIfDisposed(env);
  ThrowIfUnreadable(env, "Tensor");
  if (info.Length() != 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "reshape: expected a shape array");
  Napi::Array shapeArray = info[0].As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < shapeArray.Length(); ++i) {
    shape.push_back(static_cast<int64_t>(shapeArray.Get(i).As<Napi::Number>().DoubleValue()));
  }
  return Guard(env, "reshape", [&] { return WrapDerived(env, tensor_.reshape(shape)); });
}

// narrow(start, length): rows [start, start + length) along the first axis, without a copy.
Napi::Value NativeTensor::Narrow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ThrowIfDisposed(env);
  ThrowIfUnreadable(env, "Tensor");
  int64_t start = info[0].As<Napi::Number>().Int64Value();
  int64_t length = info[1].As<Napi::Number>().Int64Value();
  return Guard(env, "narrow", [&] { return WrapDerived(env, tensor_.narrow(0, start, length)); });
}

// take(indices): the rows at `indices` (an int64 tensor) along the first axis, copied.
Napi::Value NativeTensor::Take(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ThrowIfDisposed(env);
  ThrowIfUnreadable(env, "Tensor");
  const torch::Tensor& indices = FromValue(info[0], "indices")->tensor();
  return Guard(env, "take", [&] { return WrapDerived(env, tensor_.index_select(0, indices.to(tensor_.device()))); });
}

// concat(tensors): one tensor of the inputs joined along the first axis.
Napi::Value ConcatTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "concat: expected an array of Tensors");
  Napi::Array array = info[0].As<Napi::Array>();
  std::vector<torch::Tensor> tensors;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    tensors.push_back(NativeTensor::FromValue(array.Get(i), "tensors[" + std::to_string(i) + "]")->tensor());
  }
  return Guard(env, "concat", [&] { return NativeTensor::FromTorch(env, torch::cat(tensors, 0)); });
}

// A copy on another device ("cpu", "cuda", "cuda:1"): small enough to do on the JS thread.
Napi::Value NativeTensor::To(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ThrowIfDisposed(env);
  ThrowIfUnreadable(env, "Tensor");
  if (info.Length() != 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "to: expected a device string");
  std::string device = info[0].As<Napi::String>().Utf8Value();
  return Guard(env, "Tensor.to('" + device + "')", [&] {
    return FromTorch(env, tensor_.to(torch::TensorOptions().device(torch::Device(device)), false, true));
  });
}

void NativeTensor::Dispose(const Napi::CallbackInfo& info) {
  disposed_ = true;
  Release();
}

}  // namespace keras_torch
