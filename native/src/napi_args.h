// Argument access for the addon's entry points.
//
// Every entry point receives plain numbers and typed arrays. Typed arrays are read in place: the
// pointer returned by napi_get_typedarray_info already includes the view's byte offset, so a tfjs
// tensor that is a slice of a larger buffer is handled without copying. Errors are thrown as C++
// exceptions and turned into JS exceptions once, in `entry()`.
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace omni {

struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename T>
struct View {
  T* data = nullptr;
  size_t length = 0;
};

class Args {
 public:
  Args(napi_env env, napi_callback_info info) : env_(env) {
    size_t argc = 0;
    napi_get_cb_info(env, info, &argc, nullptr, nullptr, nullptr);
    argv_.resize(argc);
    if (argc > 0) napi_get_cb_info(env, info, &argc, argv_.data(), nullptr, nullptr);
    argc_ = argc;
  }

  napi_env env() const { return env_; }
  size_t count() const { return argc_; }

  double number(size_t i) const {
    double out = 0;
    if (napi_get_value_double(env_, at(i), &out) != napi_ok) fail(i, "a number");
    return out;
  }
  int64_t integer(size_t i) const {
    int64_t out = 0;
    if (napi_get_value_int64(env_, at(i), &out) != napi_ok) fail(i, "an integer");
    return out;
  }
  bool flag(size_t i) const {
    bool out = false;
    if (napi_get_value_bool(env_, at(i), &out) != napi_ok) fail(i, "a boolean");
    return out;
  }
  bool isNull(size_t i) const {
    napi_valuetype t;
    napi_typeof(env_, at(i), &t);
    return t == napi_null || t == napi_undefined;
  }

  View<float> f32(size_t i) const { return typed<float>(i, napi_float32_array, "a Float32Array"); }
  View<int32_t> i32(size_t i) const { return typed<int32_t>(i, napi_int32_array, "an Int32Array"); }
  View<uint8_t> u8(size_t i) const { return typed<uint8_t>(i, napi_uint8_array, "a Uint8Array"); }
  /** A Float32Array or null/undefined (then data == nullptr). */
  View<float> f32OrNull(size_t i) const { return isNull(i) ? View<float>{} : f32(i); }
  /** A small Int32Array of dims/strides copied into a vector. */
  std::vector<int64_t> dims(size_t i) const {
    View<int32_t> v = i32(i);
    return std::vector<int64_t>(v.data, v.data + v.length);
  }

 private:
  napi_value at(size_t i) const {
    if (i >= argc_) throw ArgError("missing argument " + std::to_string(i));
    return argv_[i];
  }
  [[noreturn]] void fail(size_t i, const char* what) const {
    throw ArgError("argument " + std::to_string(i) + " must be " + what);
  }
  template <typename T>
  View<T> typed(size_t i, napi_typedarray_type want, const char* what) const {
    bool is = false;
    napi_value v = at(i);
    if (napi_is_typedarray(env_, v, &is) != napi_ok || !is) fail(i, what);
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_get_typedarray_info(env_, v, &type, &length, &data, nullptr, nullptr);
    if (type != want) fail(i, what);
    return View<T>{static_cast<T*>(data), length};
  }

  napi_env env_;
  std::vector<napi_value> argv_;
  size_t argc_ = 0;
};

inline void require(bool ok, const std::string& message) {
  if (!ok) throw ArgError(message);
}

/** Checks that a view holds at least `n` elements (kernels never write past what JS allocated). */
template <typename T>
inline void requireLength(const View<T>& v, size_t n, const char* name) {
  if (v.length < n) {
    throw ArgError(std::string(name) + ": has " + std::to_string(v.length) + " elements, needs " +
                   std::to_string(n));
  }
}

}  // namespace omni
