// Reading the plain JS objects that lib/ sends (layer specs, compile options) into C++ values on the JS
// thread. lib/ has already validated them for users; these checks only keep a malformed spec from
// reaching libtorch, so their messages speak to developers.
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace keras_torch {

class SpecReader {
 public:
  SpecReader(Napi::Object object, std::string context) : object_(object), context_(std::move(context)) {}

  bool Has(const char* key) const {
    return object_.Has(key) && !object_.Get(key).IsUndefined() && !object_.Get(key).IsNull();
  }

  std::string String(const char* key) const {
    Napi::Value value = Required(key);
    if (!value.IsString()) Fail(key, "a string");
    return value.As<Napi::String>().Utf8Value();
  }
  std::string String(const char* key, const std::string& fallback) const {
    return Has(key) ? String(key) : fallback;
  }

  double Number(const char* key) const {
    Napi::Value value = Required(key);
    if (!value.IsNumber()) Fail(key, "a number");
    return value.As<Napi::Number>().DoubleValue();
  }
  double Number(const char* key, double fallback) const { return Has(key) ? Number(key) : fallback; }

  int64_t Integer(const char* key) const {
    double value = Number(key);
    if (value != static_cast<double>(static_cast<int64_t>(value))) Fail(key, "an integer");
    return static_cast<int64_t>(value);
  }

  bool Boolean(const char* key, bool fallback) const {
    if (!Has(key)) return fallback;
    Napi::Value value = object_.Get(key);
    if (!value.IsBoolean()) Fail(key, "a boolean");
    return value.As<Napi::Boolean>().Value();
  }

  std::vector<int64_t> Integers(const char* key, size_t expectedLength) const {
    std::vector<int64_t> result = Integers(key);
    if (result.size() != expectedLength) Fail(key, "an array of " + std::to_string(expectedLength) + " integers");
    return result;
  }
  // Any length.
  std::vector<int64_t> Integers(const char* key) const {
    Napi::Value value = Required(key);
    if (!value.IsArray()) Fail(key, "an array of integers");
    Napi::Array array = value.As<Napi::Array>();
    std::vector<int64_t> result;
    for (uint32_t i = 0; i < array.Length(); ++i) {
      Napi::Value item = array.Get(i);
      if (!item.IsNumber()) Fail(key, "an array of integers");
      result.push_back(static_cast<int64_t>(item.As<Napi::Number>().DoubleValue()));
    }
    return result;
  }

  Napi::Object Object(const char* key) const {
    Napi::Value value = Required(key);
    if (!value.IsObject()) Fail(key, "an object");
    return value.As<Napi::Object>();
  }

 private:
  Napi::Value Required(const char* key) const {
    if (!Has(key)) Fail(key, "a value");
    return object_.Get(key);
  }
  [[noreturn]] void Fail(const char* key, const std::string& expected) const {
    throw std::invalid_argument(context_ + ": expected " + key + " to be " + expected);
  }

  Napi::Object object_;
  std::string context_;
};

}  // namespace keras_torch
