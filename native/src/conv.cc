// Convolution over 1-3 spatial dims (channels-last: NDHWC input, [KD, KH, KW, C, OC] filter) as
// im2col + one OpenBLAS GEMM per chunk of output positions. Conv2D is the case D = KD = OD = 1.
// The three entry points are the forward pass and the two gradients tfjs asks for
// (Conv2DBackpropInput / Conv3DBackpropInputV2 and Conv2DBackpropFilter / Conv3DBackpropFilterV2).
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace omni {
namespace {

// Geometry as JS packs it into an Int32Array (see src/backend/native/kernels/conv.ts).
struct Geom {
  int64_t N, D, H, W, C, KD, KH, KW, OD, OH, OW, OC, sd, sh, sw, dd, dh, dw, pf, pt, pl;
  int64_t patch() const { return KD * KH * KW * C; }
  int64_t positions() const { return OD * OH * OW; }
  int64_t imageSize() const { return D * H * W * C; }
};

Geom readGeom(const Args& args, size_t i) {
  std::vector<int64_t> g = args.dims(i);
  require(g.size() == 21, "conv: geometry must have 21 entries");
  Geom r{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10],
         g[11], g[12], g[13], g[14], g[15], g[16], g[17], g[18], g[19], g[20]};
  for (int64_t v : g) require(v >= 0, "conv: negative geometry");
  require(r.sd >= 1 && r.sh >= 1 && r.sw >= 1 && r.dd >= 1 && r.dh >= 1 && r.dw >= 1, "conv: strides/dilations >= 1");
  return r;
}

// Rows of output positions processed per GEMM: bounds the im2col buffer to about 4M floats.
int64_t chunkRows(const Geom& g) { return std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(1, g.patch())); }

// Calls f(row, kOffset, inputOffset or -1) for every (output position, kernel tap) of a chunk.
template <typename F>
void forTaps(const Geom& g, int64_t p0, int64_t p1, F f) {
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t od = p / (g.OH * g.OW), oh = (p / g.OW) % g.OH, ow = p % g.OW;
    int64_t k = 0;
    for (int64_t kd = 0; kd < g.KD; ++kd) {
      const int64_t id = od * g.sd - g.pf + kd * g.dd;
      for (int64_t kh = 0; kh < g.KH; ++kh) {
        const int64_t ih = oh * g.sh - g.pt + kh * g.dh;
        for (int64_t kw = 0; kw < g.KW; ++kw, k += g.C) {
          const int64_t iw = ow * g.sw - g.pl + kw * g.dw;
          const bool inside = id >= 0 && id < g.D && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
          f(p - p0, k, inside ? ((id * g.H + ih) * g.W + iw) * g.C : -1);
        }
      }
    }
  }
}

void im2col(const Geom& g, const float* img, int64_t p0, int64_t p1, float* cols) {
  const int64_t P = g.patch();
  forTaps(g, p0, p1, [&](int64_t row, int64_t k, int64_t at) {
    float* dst = cols + row * P + k;
    if (at < 0) std::memset(dst, 0, g.C * sizeof(float));
    else std::memcpy(dst, img + at, g.C * sizeof(float));
  });
}

void col2imAdd(const Geom& g, const float* cols, int64_t p0, int64_t p1, float* img) {
  const int64_t P = g.patch();
  forTaps(g, p0, p1, [&](int64_t row, int64_t k, int64_t at) {
    if (at < 0) return;
    const float* src = cols + row * P + k;
    float* dst = img + at;
#pragma omp simd
    for (int64_t c = 0; c < g.C; ++c) dst[c] += src[c];
  });
}

// 1x1x1 filters with unit strides and no padding need no im2col: the image is the matrix.
bool isPointwise(const Geom& g) {
  return g.KD == 1 && g.KH == 1 && g.KW == 1 && g.sd == 1 && g.sh == 1 && g.sw == 1 && g.pf == 0 && g.pt == 0 &&
         g.pl == 0 && g.OD == g.D && g.OH == g.H && g.OW == g.W;
}

void checkSizes(const Geom& g, const View<float>& x, const View<float>& w, const View<float>& y) {
  requireLength(x, g.N * g.imageSize(), "conv x");
  requireLength(w, g.patch() * g.OC, "conv filter");
  requireLength(y, g.N * g.positions() * g.OC, "conv y");
}

}  // namespace

// conv(x, w, out, geom): out[n, p, oc] = sum_k cols[p, k] * w[k, oc]
napi_value conv(const Args& args) {
  View<float> x = args.f32(0), w = args.f32(1), out = args.f32(2);
  const Geom g = readGeom(args, 3);
  checkSizes(g, x, w, out);
  const int64_t P = g.patch(), rows = g.positions();
  if (rows * g.OC == 0 || g.N == 0) return nullptr;
  if (P == 0) {
    std::memset(out.data, 0, g.N * rows * g.OC * sizeof(float));
    return nullptr;
  }
  if (isPointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.N * rows, g.OC, P, 1.f, x.data, P, w.data, g.OC, 0.f,
                out.data, g.OC);
    return nullptr;
  }
  const int64_t chunk = std::min(rows, chunkRows(g));
  std::vector<float> cols(chunk * P);
  for (int64_t n = 0; n < g.N; ++n) {
    const float* img = x.data + n * g.imageSize();
    for (int64_t p0 = 0; p0 < rows; p0 += chunk) {
      const int64_t p1 = std::min(rows, p0 + chunk);
      im2col(g, img, p0, p1, cols.data());
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p1 - p0, g.OC, P, 1.f, cols.data(), P, w.data, g.OC, 0.f,
                  out.data + (n * rows + p0) * g.OC, g.OC);
    }
  }
  return nullptr;
}

// convGradInput(dy, w, dx, geom): dx = col2im(dy x w^T)
napi_value convGradInput(const Args& args) {
  View<float> dy = args.f32(0), w = args.f32(1), dx = args.f32(2);
  const Geom g = readGeom(args, 3);
  checkSizes(g, dx, w, dy);
  const int64_t P = g.patch(), rows = g.positions();
  std::memset(dx.data, 0, g.N * g.imageSize() * sizeof(float));
  if (rows * g.OC * P * g.N == 0) return nullptr;
  if (isPointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.N * rows, P, g.OC, 1.f, dy.data, g.OC, w.data, g.OC, 0.f,
                dx.data, P);
    return nullptr;
  }
  const int64_t chunk = std::min(rows, chunkRows(g));
  std::vector<float> cols(chunk * P);
  for (int64_t n = 0; n < g.N; ++n) {
    float* img = dx.data + n * g.imageSize();
    for (int64_t p0 = 0; p0 < rows; p0 += chunk) {
      const int64_t p1 = std::min(rows, p0 + chunk);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p1 - p0, P, g.OC, 1.f, dy.data + (n * rows + p0) * g.OC,
                  g.OC, w.data, g.OC, 0.f, cols.data(), P);
      col2imAdd(g, cols.data(), p0, p1, img);
    }
  }
  return nullptr;
}

// convGradFilter(x, dy, dw, geom): dw = sum over n and chunks of cols^T x dy
napi_value convGradFilter(const Args& args) {
  View<float> x = args.f32(0), dy = args.f32(1), dw = args.f32(2);
  const Geom g = readGeom(args, 3);
  checkSizes(g, x, dw, dy);
  const int64_t P = g.patch(), rows = g.positions();
  std::memset(dw.data, 0, P * g.OC * sizeof(float));
  if (rows * g.OC * P * g.N == 0) return nullptr;
  if (isPointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, P, g.OC, g.N * rows, 1.f, x.data, P, dy.data, g.OC, 0.f,
                dw.data, g.OC);
    return nullptr;
  }
  const int64_t chunk = std::min(rows, chunkRows(g));
  std::vector<float> cols(chunk * P);
  for (int64_t n = 0; n < g.N; ++n) {
    const float* img = x.data + n * g.imageSize();
    for (int64_t p0 = 0; p0 < rows; p0 += chunk) {
      const int64_t p1 = std::min(rows, p0 + chunk);
      im2col(g, img, p0, p1, cols.data());
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, P, g.OC, p1 - p0, 1.f, cols.data(), P,
                  dy.data + (n * rows + p0) * g.OC, g.OC, 1.f, dw.data, g.OC);
    }
  }
  return nullptr;
}

}  // namespace omni
