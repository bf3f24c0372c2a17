#include "runtime.h"

#include <dlfcn.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "cpu_allocator.h"
#include "errors.h"

namespace keras_torch {

namespace {
std::atomic<int> requestedThreads{0};  // 0: libtorch's default (one per physical core)

// A CUDA libtorch's GPU half, libtorch_cuda, is not a link-time dependency of the addon (CMakeLists.txt):
// it is loaded here when the addon loads, so that a libtorch_cuda that cannot load (Debian's, without the
// cuDNN that nvidia-cudnn downloads from NVIDIA at install time) costs CUDA only, and the CPU still works.
struct CudaLibrary {
  bool build = false;  // built against a CUDA libtorch
  bool loaded = false;
  std::string path;
  std::string error;  // why it did not load
};

CudaLibrary& TheCudaLibrary() {
  static CudaLibrary library;
  return library;
}

void LoadCudaLibrary() {
#ifdef KERAS_TORCH_CUDA_BUILD
  CudaLibrary& library = TheCudaLibrary();
  if (library.build) return;
  library.build = true;
  // libtorch_cuda lives beside the libtorch_cpu this process loaded, under the same kind of name
  // (libtorch_cpu.so.2.6 -> libtorch_cuda.so.2.6 in Debian, libtorch_cpu.so -> libtorch_cuda.so elsewhere).
  Dl_info where{};
  std::string cpu = dladdr(reinterpret_cast<void*>(&at::get_num_threads), &where) && where.dli_fname ? where.dli_fname : "";
  auto pos = cpu.rfind("libtorch_cpu");
  library.path = pos == std::string::npos ? "libtorch_cuda.so" : cpu.substr(0, pos) + "libtorch_cuda" + cpu.substr(pos + 12);
  // RTLD_GLOBAL: its static initialisers register the CUDA kernels and hooks with libtorch_cpu, as a
  // link-time dependency's would. RTLD_LAZY: as the dynamic linker binds a dependency's functions.
  if (dlopen(library.path.c_str(), RTLD_LAZY | RTLD_GLOBAL) != nullptr) {
    library.loaded = true;
  } else {
    const char* reason = dlerror();
    library.error = reason ? reason : "dlopen failed";
  }
#endif
}

// Why CUDA is off although this is a CUDA build, in words that say what to install; empty otherwise.
std::string CudaLibraryProblem() {
  const CudaLibrary& library = TheCudaLibrary();
  if (!library.build || library.loaded) return "";
  std::string message = "libtorch's CUDA library did not load (" + library.error + ")";
  if (library.error.find("libcudnn") != std::string::npos) {
    message += "; cuDNN is missing: Debian's libtorch-cuda gets it from the nvidia-cudnn package, which downloads it "
               "from NVIDIA when it is installed (run `apt-get install --reinstall nvidia-cudnn` where NVIDIA's site "
               "can be reached)";
  }
  return message;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "setNumThreads: expected a number");
  int threads = info[0].As<Napi::Number>().Int32Value();
  if (threads < 1) throw Napi::RangeError::New(env, "setNumThreads: expected a positive integer");
  requestedThreads.store(threads);
  Guard(env, "setNumThreads", [&] { at::set_num_threads(threads); });
  return env.Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  int threads = requestedThreads.load();
  return Napi::Number::New(info.Env(), threads > 0 ? threads : at::get_num_threads());
}

Napi::Value SetSeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "setSeed: expected a number");
  auto seed = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
  Guard(env, "setSeed", [&] { torch::manual_seed(seed); });  // seeds CUDA generators too when present
  return env.Undefined();
}

Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
}

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
}

// Parses "cpu", "cuda", "cuda:1" with libtorch's own rules, so the error text is libtorch's.
Napi::Value CheckDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  return Guard(env, "device '" + name + "'", [&] {
    torch::Device device(name);
    if (device.is_cuda()) {
      std::string problem = CudaLibraryProblem();
      TORCH_CHECK(problem.empty(), "CUDA is not available: ", problem);
      TORCH_CHECK(torch::cuda::is_available(), "CUDA is not available in this libtorch or on this machine");
      int64_t index = device.has_index() ? device.index() : 0;
      TORCH_CHECK(index < static_cast<int64_t>(torch::cuda::device_count()), "there are only ",
                  torch::cuda::device_count(), " CUDA devices");
    } else {
      TORCH_CHECK(device.is_cpu(), "only cpu and cuda devices are supported");
    }
    return Napi::String::New(env, device.str());
  });
}

Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("libtorchVersion", TORCH_VERSION);
  result.Set("cudaAvailable", torch::cuda::is_available());
  result.Set("cudaDeviceCount", static_cast<double>(torch::cuda::device_count()));
  result.Set("cudnnAvailable", torch::cuda::cudnn_is_available());
  const CudaLibrary& cudaLibrary = TheCudaLibrary();
  Napi::Object library = Napi::Object::New(env);
  library.Set("build", cudaLibrary.build);
  library.Set("loaded", cudaLibrary.loaded);
  library.Set("path", cudaLibrary.path);
  library.Set("problem", CudaLibraryProblem());
  result.Set("cudaLibrary", library);
  int threads = requestedThreads.load();
  result.Set("numThreads", threads > 0 ? threads : at::get_num_threads());
  result.Set("parallelInfo", at::get_parallel_info());
  result.Set("buildConfig", at::show_config());
  result.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
  CpuMemoryStats memory = GetCpuMemoryStats();
  Napi::Object cpuMemory = Napi::Object::New(env);
  cpuMemory.Set("caching", memory.caching);
  cpuMemory.Set("inUseBytes", static_cast<double>(memory.inUseBytes));
  cpuMemory.Set("cachedBytes", static_cast<double>(memory.cachedBytes));
  cpuMemory.Set("cacheLimitBytes", static_cast<double>(memory.cacheLimitBytes));
  cpuMemory.Set("reused", static_cast<double>(memory.reused));
  cpuMemory.Set("fresh", static_cast<double>(memory.fresh));
  cpuMemory.Set("smallBlocksInUse", static_cast<double>(memory.smallBlocksInUse));
  result.Set("cpuMemory", cpuMemory);
  return result;
}
}  // namespace

void ApplyThreadSettings() {
  thread_local int applied = 0;
  int requested = requestedThreads.load();
  if (requested > 0 && requested != applied) {
    at::set_num_threads(requested);
    applied = requested;
  }
}

namespace {
class ComputeThread {
 public:
  ComputeThread() : thread_([this] { Loop(); }) { thread_.detach(); }

  void Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    wake_.notify_one();
  }

  // At process exit (process.exit(), an uncaught exception, the end of the script): the step running
  // now finishes, the queued ones never start, and then libtorch's static objects may be destroyed. A
  // step still running while they are torn down crashed the process or corrupted its heap.
  void StopForExit() {
    std::unique_lock<std::mutex> lock(mutex_);
    exiting_ = true;
    idle_.wait(lock, [&] { return !running_; });
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return !queue_.empty() && !exiting_; });
        task = std::move(queue_.front());
        queue_.pop_front();
        running_ = true;
      }
      task();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        running_ = false;
      }
      idle_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queue_;
  bool running_ = false;
  bool exiting_ = false;
  std::thread thread_;
};

// Never destroyed: the detached thread may still wait on it while the process exits.
ComputeThread* TheComputeThread() {
  static ComputeThread* thread = [] {
    auto* made = new ComputeThread();
    // Registered after libtorch's static objects were made, so it runs before their destructors.
    std::atexit([] { TheComputeThread()->StopForExit(); });
    return made;
  }();
  return thread;
}
}  // namespace

void PostToComputeThread(std::function<void()> task) { TheComputeThread()->Post(std::move(task)); }

namespace {
// stopComputeForExit(): lib's loader calls it from the main thread's process 'exit' event, the first
// thing Node runs on its way out: libtorch's and oneDNN's static objects made after the addon loaded are
// destroyed before a C atexit handler registered at load time would run.
Napi::Value StopComputeForExit(const Napi::CallbackInfo& info) {
  TheComputeThread()->StopForExit();
  return info.Env().Undefined();
}
}  // namespace

Napi::Object InitRuntime(Napi::Env env, Napi::Object exports) {
  InstallCpuAllocator();
  LoadCudaLibrary();
  // Some libtorch builds (Debian's among them) start with one intra-op thread; Keras users expect every
  // core to be used, as PyTorch's own wheels do. OMP_NUM_THREADS still wins when it is set.
  static bool defaulted = false;
  if (!defaulted && std::getenv("OMP_NUM_THREADS") == nullptr) {
    defaulted = true;
    int cores = static_cast<int>(std::thread::hardware_concurrency());
    if (cores > 0) {
      requestedThreads.store(cores);
      at::set_num_threads(cores);
    }
  }
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("setSeed", Napi::Function::New(env, SetSeed));
  exports.Set("cudaIsAvailable", Napi::Function::New(env, CudaIsAvailable));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, CudaDeviceCount));
  exports.Set("checkDevice", Napi::Function::New(env, CheckDevice));
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo));
  exports.Set("stopComputeForExit", Napi::Function::New(env, StopComputeForExit));
  return exports;
}

}  // namespace keras_torch
