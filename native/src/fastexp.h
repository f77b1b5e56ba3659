// A vectorisable float exp for the fused kernels' softmax and sigmoid loops (attention, swiglu,
// softmaxXent): no libm call, so that `omp simd` loops over it vectorise (glibc's expf is scalar);
// ~4x faster than std::exp there. Cody-Waite reduction x = n ln2 + r, |r| <= ln2 / 2, Cephes'
// degree-6 polynomial for e^r, and 2^n assembled from exponent bits (as two factors, so that
// n = -126 .. 128 stay normal). Within 1 ulp of std::exp over the normal range (checked over
// [-87.3, 88.7] in steps of 1.3e-4); below -87.34 (subnormal results) it returns 0, above 88.72 +inf,
// NaN for NaN. Loops need -fno-trapping-math (binding.gyp) to vectorise its selects.
#pragma once

#include <cstdint>

namespace omni {

inline float fastExp(float x) {
  const float hi = 88.72283905206835f, lo = -87.33654475055311f;
  const float xc = x > hi ? hi : (x < lo ? lo : x);
  const float n = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float z = r * r;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * z + r + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t h = ni >> 1;
  union { int32_t i; float f; } s1, s2;
  s1.i = (h + 127) << 23;
  s2.i = (ni - h + 127) << 23;
  float y = p * s1.f * s2.f;
  y = x > hi ? __builtin_inff() : y;
  y = x < lo ? 0.f : y;
  y = x != x ? x : y;
  return y;
}
}  // namespace omni
