// One guard for every native entry point: libtorch's c10::Error and any std::exception become a JS
// Error carrying the operation's name, so that no user input can abort the process.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace keras_torch {

// Backtraces help us, not users; KERAS_TORCH_DEBUG=1 adds them back.
inline bool BacktracesWanted() {
  const char* debug = std::getenv("KERAS_TORCH_DEBUG");
  return debug != nullptr && std::string(debug) == "1";
}

inline std::string DescribeTorchError(const c10::Error& error) {
  return BacktracesWanted() ? error.what() : error.what_without_backtrace();
}

inline std::string ShapeToString(at::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

// Tells V8 how much memory native objects hold. Never throws: it runs in destructors and finalizers, also
// while an environment is torn down (a worker thread ending), where N-API calls fail and an exception
// out of a destructor would abort the process.
inline void ReportExternalMemory(napi_env env, int64_t change) noexcept {
  int64_t total = 0;
  if (env != nullptr && change != 0) napi_adjust_external_memory(env, change, &total);
}

// Runs `body`; on failure throws a JS Error whose message starts with `operation`.
template <typename Body>
auto Guard(Napi::Env env, const std::string& operation, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& error) {
    throw Napi::Error::New(env, operation + ": " + DescribeTorchError(error));
  } catch (const std::exception& error) {
    throw Napi::Error::New(env, operation + ": " + error.what());
  }
}

// The same translation for worker threads, which report through a string instead of throwing into JS.
template <typename Body>
bool GuardOffThread(const std::string& operation, std::string& message, Body&& body) {
  try {
    body();
    return true;
  } catch (const c10::Error& error) {
    message = operation + ": " + DescribeTorchError(error);
  } catch (const std::exception& error) {
    message = operation + ": " + error.what();
  }
  return false;
}

}  // namespace keras_torch
