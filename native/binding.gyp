# Build description for the omni_native Node-API addon (OpenBLAS-backed TensorFlow.js kernels).
# Built by scripts/build-native.sh with npm's bundled node-gyp; output: native/build/Release/omni_native.node
{
  "targets": [
    {
      "target_name": "omni_native",
      "sources": [
        "src/addon.cc",
        "src/gemm.cc",
        "src/elementwise.cc",
        "src/reduce.cc",
        "src/layout.cc",
        "src/norm.cc",
        "src/attention.cc",
        "src/llm.cc",
        "src/optim.cc",
        "src/conv.cc"
      ],
      # OMNI_BLAS_INCLUDE: the folder holding OpenBLAS's cblas.h (scripts/build-native.sh finds it).
      "include_dirs": ["<!(echo ${OMNI_BLAS_INCLUDE:-/usr/include/x86_64-linux-gnu})"],
      "libraries": ["-lopenblas", "-lm"],
      # Exceptions carry argument errors to one catch per entry point, which turns them into JS errors.
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      # -O3 and omp simd: vectorised loops without -ffast-math (NaN/Inf semantics must match tfjs).
      # -fno-trapping-math (no FP exception traps are used) lets loops with selects vectorise (fastexp.h);
      # it changes no result.
      # OMNI_MARCH (default "native") picks the ISA: the addon is built on the machine that runs it.
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp-simd", "-fno-trapping-math", "-march=<!(echo ${OMNI_MARCH:-native})", "-fexceptions"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
