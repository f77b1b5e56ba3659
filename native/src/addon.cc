// Module registration: exposes the kernels of kernels.h as functions of the addon's exports.
// Each export goes through `trampoline`, which turns a thrown C++ exception into a JS Error.
#include <malloc.h>

#include <cstdlib>
#include <exception>
#include <string>

#include "kernels.h"

namespace omni {

napi_value makeNumber(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

namespace {

template <Entry fn>
napi_value trampoline(napi_env env, napi_callback_info info) {
  try {
    Args args(env, info);
    return fn(args);
  } catch (const std::exception& e) {
    napi_throw_error(env, "OMNI_NATIVE", e.what());
  } catch (...) {
    napi_throw_error(env, "OMNI_NATIVE", "unknown native error");
  }
  return nullptr;
}

#define OMNI_EXPORT(name) napi_property_descriptor{#name, nullptr, trampoline<name>, nullptr, nullptr, nullptr, napi_enumerable, nullptr}

// Tensor outputs are fresh Float32Arrays, which Node allocates with calloc. With glibc's defaults
// every block over ~128 KB-32 MB is a new mmap, so each large output pays page faults and kernel
// zeroing (0.7 ms for 2 MB, more than most kernels themselves). Keeping big blocks in the heap lets
// freed tensor memory be reused at once. OMNI_NATIVE_MALLOC=default keeps glibc's behaviour.
void tuneMalloc() {
  const char* mode = std::getenv("OMNI_NATIVE_MALLOC");
  if (mode && std::string(mode) == "default") return;
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

napi_value init(napi_env env, napi_value exports) {
  tuneMalloc();
  const napi_property_descriptor props[] = {
      OMNI_EXPORT(matmul),     OMNI_EXPORT(linearGrad),    OMNI_EXPORT(setThreads),    OMNI_EXPORT(getThreads),    OMNI_EXPORT(blasConfig),
      OMNI_EXPORT(binary),     OMNI_EXPORT(compare),       OMNI_EXPORT(unary),         OMNI_EXPORT(addN),
      OMNI_EXPORT(reduce),     OMNI_EXPORT(argReduce),     OMNI_EXPORT(softmax),       OMNI_EXPORT(sumSquares),
      OMNI_EXPORT(transpose),  OMNI_EXPORT(gather),        OMNI_EXPORT(segmentSum),    OMNI_EXPORT(layerNorm),
      OMNI_EXPORT(layerNormGrad), OMNI_EXPORT(rmsNorm),    OMNI_EXPORT(rmsNormGrad),   OMNI_EXPORT(attention),
      OMNI_EXPORT(attentionGrad), OMNI_EXPORT(adam),       OMNI_EXPORT(conv),          OMNI_EXPORT(convGradInput),
      OMNI_EXPORT(convGradFilter), OMNI_EXPORT(rope),      OMNI_EXPORT(swiglu),        OMNI_EXPORT(swigluGrad),
      OMNI_EXPORT(loraLinear),  OMNI_EXPORT(loraLinearGrad), OMNI_EXPORT(softmaxXent), OMNI_EXPORT(softmaxXentGrad),
      OMNI_EXPORT(adamMulti),
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace
}  // namespace omni

NAPI_MODULE(NODE_GYP_MODULE_NAME, omni::init)
