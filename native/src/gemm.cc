// Batched matrix multiply over OpenBLAS, with the epilogue of tfjs' _FusedMatMul (bias + activation).
#include <cblas.h>

#include <cstring>
#include <vector>

#include "activation.h"
#include "kernels.h"

namespace omni {

// matmul(a, b, out, batch, aIndex, bIndex, M, N, K, transA, transB, bias|null, act, alpha)
//   out[i] = op(a[aIndex[i]]) x op(b[bIndex[i]]) for i < batch, each matrix M x N (row-major).
//   aIndex/bIndex hold matrix indices so that JS can express any broadcasting of batch dims.
//   bias (length N, or 1) is added to every row, then activation `act` (see activation.h).
napi_value matmul(const Args& args) {
  View<float> a = args.f32(0), b = args.f32(1), out = args.f32(2);
  const int64_t batch = args.integer(3);
  View<int32_t> ai = args.i32(4), bi = args.i32(5);
  const int64_t M = args.integer(6), N = args.integer(7), K = args.integer(8);
  const bool ta = args.flag(9), tb = args.flag(10);
  View<float> bias = args.f32OrNull(11);
  const int act = static_cast<int>(args.integer(12));
  const float alpha = static_cast<float>(args.number(13));

  require(batch >= 0 && M >= 0 && N >= 0 && K >= 0, "matmul: negative size");
  requireLength(ai, batch, "matmul aIndex");
  requireLength(bi, batch, "matmul bIndex");
  requireLength(out, batch * M * N, "matmul out");
  const size_t aSize = M * K, bSize = K * N, cSize = M * N;
  for (int64_t i = 0; i < batch; ++i) {
    require(ai.data[i] >= 0 && (ai.data[i] + 1) * aSize <= a.length, "matmul: aIndex out of range");
    require(bi.data[i] >= 0 && (bi.data[i] + 1) * bSize <= b.length, "matmul: bIndex out of range");
  }
  if (bias.data) require(bias.length == static_cast<size_t>(N) || bias.length == 1, "matmul: bias must have N or 1 elements");
  if (cSize == 0) return nullptr;

  const int lda = ta ? M : K, ldb = tb ? K : N;
  for (int64_t i = 0; i < batch; ++i) {
    float* c = out.data + i * cSize;
    if (K == 0) {
      std::memset(c, 0, cSize * sizeof(float));
    } else {
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.f,
                  a.data + ai.data[i] * aSize, lda, b.data + bi.data[i] * bSize, ldb, 0.f, c, N);
    }
  }
  if (!bias.data && act == kLinear) return nullptr;
  const size_t rows = batch * M;
  for (size_t r = 0; r < rows; ++r) {
    float* c = out.data + r * N;
    if (bias.data) {
      if (bias.length == 1) {
        const float v = bias.data[0];
#pragma omp simd
        for (int64_t j = 0; j < N; ++j) c[j] += v;
      } else {
#pragma omp simd
        for (int64_t j = 0; j < N; ++j) c[j] += bias.data[j];
      }
    }
    if (act == kRelu) {
#pragma omp simd
      for (int64_t j = 0; j < N; ++j) c[j] = c[j] < 0.f ? 0.f : c[j];
    } else if (act != kLinear) {
      for (int64_t j = 0; j < N; ++j) c[j] = activate(act, c[j], alpha);
    }
  }
  return nullptr;
}

// setThreads(n): OpenBLAS worker threads for all later calls.
napi_value setThreads(const Args& args) {
  const int64_t n = args.integer(0);
  require(n >= 1 && n <= 256, "setThreads: n must be in 1..256");
  openblas_set_num_threads(static_cast<int>(n));
  return nullptr;
}

napi_value getThreads(const Args& args) { return makeNumber(args.env(), openblas_get_num_threads()); }

// blasConfig(): OpenBLAS build string and core name, for logs.
napi_value blasConfig(const Args& args) {
  std::string text = std::string(openblas_get_config()) + " core=" + openblas_get_corename();
  napi_value out;
  napi_create_string_utf8(args.env(), text.c_str(), text.size(), &out);
  return out;
}

}  // namespace omni

namespace omni {

// linearGrad(dy, x, w, y|null, dx, dw|null, db|null, M, K, N, act)
//   The backward pass of y = act(x w + b) for x [M, K], w [K, N], in one call:
//   g = dy * act'(y) (act: 0 linear, 1 relu; relu's derivative is read off its output y),
//   dx = g w^T [M, K], dw = x^T g [K, N], db = column sums of g [N].
//   dw null: a frozen weight, whose gradient is not computed; dx null: an input that needs none.
napi_value linearGrad(const Args& args) {
  View<float> dy = args.f32(0), x = args.f32(1), w = args.f32(2), y = args.f32OrNull(3);
  View<float> dx = args.f32OrNull(4), dw = args.f32OrNull(5), db = args.f32OrNull(6);
  const int64_t M = args.integer(7), K = args.integer(8), N = args.integer(9);
  const int act = static_cast<int>(args.integer(10));
  require(M >= 0 && K >= 0 && N >= 0, "linearGrad: negative size");
  require(act == kLinear || act == kRelu, "linearGrad: only linear and relu");
  requireLength(dy, M * N, "linearGrad dy");
  requireLength(x, M * K, "linearGrad x");
  requireLength(w, K * N, "linearGrad w");
  if (dx.data) requireLength(dx, M * K, "linearGrad dx");
  if (dw.data) requireLength(dw, K * N, "linearGrad dw");
  if (act == kRelu && M * N > 0) require(y.data != nullptr && y.length >= static_cast<size_t>(M * N), "linearGrad: relu needs y");
  if (db.data) requireLength(db, N, "linearGrad db");
  std::vector<float> masked;
  const float* g = dy.data;
  if (act == kRelu) {
    masked.resize(M * N);
    const float* yv = y.data;
    float* m = masked.data();
#pragma omp simd
    for (int64_t i = 0; i < M * N; ++i) m[i] = yv[i] > 0.f ? dy.data[i] : 0.f;
    g = m;
  }
  if (dx.data && M * K > 0) {
    if (N == 0) std::memset(dx.data, 0, M * K * sizeof(float));
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1.f, g, N, w.data, N, 0.f, dx.data, K);
  }
  if (dw.data && K * N > 0) {
    if (M == 0) std::memset(dw.data, 0, K * N * sizeof(float));
    else cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.f, x.data, K, g, N, 0.f, dw.data, N);
  }
  if (db.data) {
    std::vector<double> acc(N, 0.0);
    for (int64_t r = 0; r < M; ++r) {
      const float* row = g + r * N;
      double* a = acc.data();
#pragma omp simd
      for (int64_t j = 0; j < N; ++j) a[j] += row[j];
    }
    for (int64_t j = 0; j < N; ++j) db.data[j] = static_cast<float>(acc[j]);
  }
  return nullptr;
}

}  // namespace omni
