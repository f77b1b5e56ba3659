// Data movement: N-d transpose, gather along an axis, unsorted segment sum (gather's gradient).
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace omni {

// transpose(x, out, shape, perm): out = x transposed by perm (row-major, any rank >= 1).
// The last two output dims are copied in 32x32 tiles so that neither side strides through memory
// one element per cache line.
napi_value transpose(const Args& args) {
  View<float> x = args.f32(0), out = args.f32(1);
  std::vector<int64_t> shape = args.dims(2), perm = args.dims(3);
  const size_t r = shape.size();
  require(r >= 1 && perm.size() == r, "transpose: perm must match the rank");
  std::vector<int64_t> inStride(r, 1);
  for (int64_t d = static_cast<int64_t>(r) - 2; d >= 0; --d) inStride[d] = inStride[d + 1] * shape[d + 1];
  size_t total = 1;
  std::vector<int64_t> oShape(r), oStride(r);  // output shape, and the input stride of each output dim
  std::vector<bool> seen(r, false);
  for (size_t d = 0; d < r; ++d) {
    require(perm[d] >= 0 && perm[d] < static_cast<int64_t>(r) && !seen[perm[d]], "transpose: bad perm");
    seen[perm[d]] = true;
    oShape[d] = shape[perm[d]];
    oStride[d] = inStride[perm[d]];
    total *= shape[d];
  }
  requireLength(x, total, "transpose x");
  requireLength(out, total, "transpose out");
  if (total == 0) return nullptr;
  if (r == 1) {
    std::memcpy(out.data, x.data, total * sizeof(float));
    return nullptr;
  }
  const int64_t A = oShape[r - 2], B = oShape[r - 1], sA = oStride[r - 2], sB = oStride[r - 1];
  const int64_t outer = static_cast<int64_t>(total) / (A * B);
  std::vector<int64_t> idx(r, 0);
  int64_t base = 0;
  constexpr int64_t T = 32;
  for (int64_t o = 0; o < outer; ++o) {
    float* dst = out.data + o * A * B;
    const float* src = x.data + base;
    if (sB == 1) {
      for (int64_t a = 0; a < A; ++a) std::memcpy(dst + a * B, src + a * sA, B * sizeof(float));
    } else {
      for (int64_t a0 = 0; a0 < A; a0 += T) {
        const int64_t a1 = std::min(A, a0 + T);
        for (int64_t b0 = 0; b0 < B; b0 += T) {
          const int64_t b1 = std::min(B, b0 + T);
          for (int64_t a = a0; a < a1; ++a)
            for (int64_t b = b0; b < b1; ++b) dst[a * B + b] = src[a * sA + b * sB];
        }
      }
    }
    for (int64_t d = static_cast<int64_t>(r) - 3; d >= 0; --d) {
      if (++idx[d] < oShape[d]) {
        base += oStride[d];
        break;
      }
      base -= oStride[d] * (oShape[d] - 1);
      idx[d] = 0;
    }
  }
  return nullptr;
}

// gather(x, indices, out, outer, axisLen, inner): out[o, j, :] = x[o, indices[j], :].
napi_value gather(const Args& args) {
  View<float> x = args.f32(0), out = args.f32(2);
  View<int32_t> ind = args.i32(1);
  const int64_t outer = args.integer(3), axisLen = args.integer(4), inner = args.integer(5);
  const int64_t n = ind.length;
  requireLength(x, outer * axisLen * inner, "gather x");
  requireLength(out, outer * n * inner, "gather out");
  for (int64_t j = 0; j < n; ++j) {
    require(ind.data[j] >= 0 && ind.data[j] < axisLen,
            "gather: index " + std::to_string(ind.data[j]) + " is not in [0, " + std::to_string(axisLen) + ")");
  }
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      std::memcpy(out.data + (o * n + j) * inner, x.data + (o * axisLen + ind.data[j]) * inner, inner * sizeof(float));
    }
  }
  return nullptr;
}

// segmentSum(x, segmentIds, out, numSegments, inner): out[s, :] = sum of x[j, :] with ids[j] == s.
// Ids outside [0, numSegments) are dropped, as in TensorFlow.
napi_value segmentSum(const Args& args) {
  View<float> x = args.f32(0), out = args.f32(2);
  View<int32_t> ids = args.i32(1);
  const int64_t numSegments = args.integer(3), inner = args.integer(4);
  const int64_t n = ids.length;
  requireLength(x, n * inner, "segmentSum x");
  requireLength(out, numSegments * inner, "segmentSum out");
  std::memset(out.data, 0, numSegments * inner * sizeof(float));
  for (int64_t j = 0; j < n; ++j) {
    const int64_t s = ids.data[j];
    if (s < 0 || s >= numSegments) continue;
    float* dst = out.data + s * inner;
    const float* src = x.data + j * inner;
#pragma omp simd
    for (int64_t i = 0; i < inner; ++i) dst[i] += src[i];
  }
  return nullptr;
}

}  // namespace omni
