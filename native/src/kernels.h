// Entry points of the addon, one group per source file. Each takes the JS arguments (see the
// comment above its definition for their order) and returns a JS value or nullptr (undefined).
#pragma once

#include "napi_args.h"

namespace omni {

using Entry = napi_value (*)(const Args&);

// gemm.cc
napi_value matmul(const Args& a);
napi_value linearGrad(const Args& a);
napi_value setThreads(const Args& a);
napi_value getThreads(const Args& a);
napi_value blasConfig(const Args& a);
// elementwise.cc
napi_value binary(const Args& a);
napi_value compare(const Args& a);
napi_value unary(const Args& a);
napi_value addN(const Args& a);
// reduce.cc
napi_value reduce(const Args& a);
napi_value argReduce(const Args& a);
napi_value softmax(const Args& a);
napi_value sumSquares(const Args& a);
// layout.cc
napi_value transpose(const Args& a);
napi_value gather(const Args& a);
napi_value segmentSum(const Args& a);
// norm.cc
napi_value layerNorm(const Args& a);
napi_value layerNormGrad(const Args& a);
napi_value rmsNorm(const Args& a);
napi_value rmsNormGrad(const Args& a);
// attention.cc
napi_value attention(const Args& a);
napi_value attentionGrad(const Args& a);
// llm.cc
napi_value rope(const Args& a);
napi_value swiglu(const Args& a);
napi_value swigluGrad(const Args& a);
napi_value loraLinear(const Args& a);
napi_value loraLinearGrad(const Args& a);
napi_value softmaxXent(const Args& a);
napi_value softmaxXentGrad(const Args& a);
// optim.cc
napi_value adam(const Args& a);
napi_value adamMulti(const Args& a);
// conv.cc
napi_value conv(const Args& a);
napi_value convGradInput(const Args& a);
napi_value convGradFilter(const Args& a);

napi_value makeNumber(napi_env env, double v);

}  // namespace omni
