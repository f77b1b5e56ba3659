// Scalar activation functions shared by the fused matmul epilogue and the unary kernels.
// Their definitions follow the tfjs cpu kernels (e.g. Elu uses expm1-free exp(x) - 1, Relu6 clamps).
#pragma once

#include <cmath>

namespace omni {

enum Act : int { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3, kSigmoid = 4, kElu = 5 };

inline float activate(int act, float x, float alpha) {
  switch (act) {
    case kRelu: return x < 0.f ? 0.f : x;
    case kRelu6: return x < 0.f ? 0.f : (x > 6.f ? 6.f : x);
    case kLeakyRelu: return x < 0.f ? alpha * x : x;
    case kSigmoid: return 1.f / (1.f + std::exp(-x));
    case kElu: return x >= 0.f ? x : std::exp(x) - 1.f;
    default: return x;
  }
}

}  // namespace omni
