#include "distributed.h"

// Gloo's headers come with pip's and pytorch.org's libtorch, and with Debian's libgloo-dev; a build
// without them has everything but data-parallel training (CMakeLists.txt decides).
#ifdef KERAS_TORCH_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#endif

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "addon_data.h"
#include "async.h"
#include "errors.h"
#include "model.h"
#include "spec.h"
#include "tensor.h"

#ifdef KERAS_TORCH_HAVE_GLOO

namespace keras_torch {

namespace {

// Gradients are reduced in buckets of about this many bytes: few enough calls to amortise latency, small
// enough not to double the model's memory at once.
constexpr int64_t kBucketBytes = 25 * 1024 * 1024;

struct Group {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> processGroup;
  int rank = 0;
  int worldSize = 1;
  std::chrono::milliseconds timeout{0};
};

std::mutex groupMutex;
std::shared_ptr<Group> group;  // guarded by groupMutex; workers take a copy of the pointer

std::shared_ptr<Group> CurrentGroup() {
  std::lock_guard<std::mutex> lock(groupMutex);
  return group;
}

std::shared_ptr<Group> RequireGroup() {
  std::shared_ptr<Group> current = CurrentGroup();
  if (!current) throw std::runtime_error("distributed training is not initialised; call distributed.init() first");
  return current;
}

// Waits for a collective with the group's timeout, so a dead peer is an error, never a hang.
void Wait(const Group& current, const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
  if (!work->wait(current.timeout)) {
    throw std::runtime_error(std::string(what) + " timed out after " + std::to_string(current.timeout.count()) + " ms");
  }
}

// Runs `body` on the flattened tensors, a bucket at a time, then copies the results back.
template <typename Body>
void InBuckets(const std::vector<torch::Tensor>& tensors, Body&& body) {
  std::vector<torch::Tensor> bucket;
  int64_t bytes = 0;
  auto flush = [&] {
    if (bucket.empty()) return;
    std::vector<torch::Tensor> flat;
    for (const torch::Tensor& t : bucket) flat.push_back(t.reshape({-1}));
    torch::Tensor joined = torch::cat(flat);
    body(joined);
    int64_t offset = 0;
    for (const torch::Tensor& t : bucket) {
      t.copy_(joined.narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
    bucket.clear();
    bytes = 0;
  };
  for (const torch::Tensor& t : tensors) {
    // Buckets hold one dtype and device, as torch.distributed's do.
    if (!bucket.empty() && (bucket.front().scalar_type() != t.scalar_type() || bucket.front().device() != t.device())) flush();
    bucket.push_back(t);
    bytes += t.numel() * t.element_size();
    if (bytes >= kBucketBytes) flush();
  }
  flush();
}

// A collective or rendezvous on a libuv pool thread; resolves undefined.
Napi::Promise RunDistributed(Napi::Env env, const std::string& operation, std::function<void()> work,
                             std::initializer_list<Napi::Value> keepAlive = {}) {
  return PoolPromise<Done>::Run(
      env, operation, [work = std::move(work)] { work(); return Done{}; },
      [](Napi::Env env, Done&) { return env.Undefined(); }, keepAlive);
}

// init({rank, worldSize, address, port, timeoutMs}) -> Promise: the rendezvous blocks until every rank joins.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (CurrentGroup()) throw Napi::Error::New(env, "distributed.init: already initialised; call destroy() first");
  int rank = 0, worldSize = 1, port = 0;
  std::string address;
  std::chrono::milliseconds timeout{0};
  Guard(env, "distributed.init", [&] {
    SpecReader options(info[0].As<Napi::Object>(), "distributed.init");
    rank = static_cast<int>(options.Integer("rank"));
    worldSize = static_cast<int>(options.Integer("worldSize"));
    address = options.String("address");
    port = static_cast<int>(options.Integer("port"));
    timeout = std::chrono::milliseconds(options.Integer("timeoutMs"));
  });
  return RunDistributed(env, "distributed.init", [=] {
    auto created = std::make_shared<Group>();
    c10d::TCPStoreOptions storeOptions;
    storeOptions.port = static_cast<std::uint16_t>(port);
    storeOptions.isServer = rank == 0;
    storeOptions.numWorkers = worldSize;
    storeOptions.waitWorkers = true;
    storeOptions.timeout = timeout;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    // From libtorch 2.4 the store's server defaults to its libuv backend, which builds without libuv (Debian's)
    // refuse ("use_libuv was requested but PyTorch was build without libuv support"); the classic server is in
    // every build and is what 1.13 to 2.3 use.
    storeOptions.useLibUV = false;
#endif
    created->store = c10::make_intrusive<c10d::TCPStore>(address, storeOptions);
    auto groupOptions = c10d::ProcessGroupGloo::Options::create(timeout);
    groupOptions->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(address));
    created->processGroup = c10::make_intrusive<c10d::ProcessGroupGloo>(created->store, rank, worldSize, groupOptions);
    created->rank = rank;
    created->worldSize = worldSize;
    created->timeout = timeout;
    std::lock_guard<std::mutex> lock(groupMutex);
    group = created;
  });
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return RunDistributed(env, "distributed.barrier", [] {
    std::shared_ptr<Group> current = RequireGroup();
    // A one-element allreduce is a barrier whose wait honours the group's timeout.
    std::vector<torch::Tensor> token{torch::zeros({1})};
    Wait(*current, current->processGroup->allreduce(token), "barrier");
  });
}

// broadcastModel(model) -> Promise: every parameter and buffer takes rank 0's values.
Napi::Value BroadcastModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<ModelState> model = NativeModel::StateOf(info[0]);
  return RunDistributed(env, "distributed.broadcast", [model] {
    std::shared_ptr<Group> current = RequireGroup();
    std::lock_guard<std::mutex> lock(model->mutex);
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> tensors;
    for (const torch::Tensor& p : model->graph->Parameters()) tensors.push_back(p.detach());
    for (const torch::Tensor& b : model->graph->Buffers()) tensors.push_back(b.detach());
    InBuckets(tensors, [&](torch::Tensor& joined) {
      std::vector<torch::Tensor> one{joined};
      c10d::BroadcastOptions options;
      options.rootRank = 0;
      Wait(*current, current->processGroup->broadcast(one, options), "broadcast");
    });
  }, {info[0]});
}

// allreduceMean(values: Float64Array) -> Promise<Float64Array>: the element-wise mean across ranks.
Napi::Value AllreduceMean(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float64Array input = info[0].As<Napi::Float64Array>();
  auto values = std::make_shared<std::vector<double>>(input.Data(), input.Data() + input.ElementLength());
  return PoolPromise<std::shared_ptr<std::vector<double>>>::Run(
      env, "distributed.allreduce",
      [values] {
        std::shared_ptr<Group> current = RequireGroup();
        torch::Tensor tensor = torch::from_blob(values->data(), {static_cast<int64_t>(values->size())}, torch::kFloat64).clone();
        std::vector<torch::Tensor> one{tensor};
        Wait(*current, current->processGroup->allreduce(one), "allreduce");
        tensor.div_(current->worldSize);
        std::memcpy(values->data(), tensor.data_ptr<double>(), values->size() * sizeof(double));
        return values;
      },
      [](Napi::Env env, std::shared_ptr<std::vector<double>>& result) -> Napi::Value {
        Napi::Float64Array array = Napi::Float64Array::New(env, result->size());
        std::memcpy(array.Data(), result->data(), result->size() * sizeof(double));
        return array;
      });
}

Napi::Value Destroy(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(groupMutex);
  group.reset();
  return info.Env().Undefined();
}

}  // namespace

bool DistributedActive() { return CurrentGroup() != nullptr; }

void AverageGradients(const std::vector<torch::Tensor>& parameters) {
  std::shared_ptr<Group> current = CurrentGroup();
  if (!current || current->worldSize == 1) return;
  std::vector<torch::Tensor> gradients;
  for (const torch::Tensor& p : parameters) {
    if (p.grad().defined()) gradients.push_back(p.grad());
  }
  InBuckets(gradients, [&](torch::Tensor& joined) {
    std::vector<torch::Tensor> one{joined};
    Wait(*current, current->processGroup->allreduce(one), "gradient allreduce");
    joined.div_(current->worldSize);
  });
}

Napi::Object InitDistributed(Napi::Env env, Napi::Object exports) {
  Napi::Object distributed = Napi::Object::New(env);
  distributed.Set("init", Napi::Function::New(env, Init));
  distributed.Set("barrier", Napi::Function::New(env, Barrier));
  distributed.Set("broadcastModel", Napi::Function::New(env, BroadcastModel));
  distributed.Set("allreduceMean", Napi::Function::New(env, AllreduceMean));
  distributed.Set("destroy", Napi::Function::New(env, Destroy));
  exports.Set("distributed", distributed);
  return exports;
}

}  // namespace keras_torch

#else  // no Gloo

namespace keras_torch {

namespace {
Napi::Value Unavailable(const Napi::CallbackInfo& info) {
  throw Napi::Error::New(info.Env(),
                         "distributed: this build of keras-torch has no Gloo (Debian: apt-get install libgloo-dev, then "
                         "rebuild with npm run build:native)");
}
}  // namespace

bool DistributedActive() { return false; }

void AverageGradients(const std::vector<torch::Tensor>&) {}

Napi::Object InitDistributed(Napi::Env env, Napi::Object exports) {
  Napi::Object distributed = Napi::Object::New(env);
  for (const char* name : {"init", "barrier", "broadcastModel", "allreduceMean", "destroy"}) {
    distributed.Set(name, Napi::Function::New(env, Unavailable));
  }
  exports.Set("distributed", distributed);
  return exports;
}

}  // namespace keras_torch

#endif  // KERAS_TORCH_HAVE_GLOO
