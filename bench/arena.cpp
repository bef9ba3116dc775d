// Micro-benchmark for bench/arena.R: the cost (time and resident memory) of
// one parallel loop call, (a) through RcppParallel::parallelFor with an
// explicit thread count (which builds a new tbb::task_arena per call, as
// rlpsy's ParallelRunner does) and (b) through one tbb::task_arena that is
// created once and reused.
// [[Rcpp::depends(RcppParallel)]]
#include <Rcpp.h>
#include <RcppParallel.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <vector>

struct AddOne : RcppParallel::Worker {
  double* x;
  explicit AddOne(double* x) : x(x) {}
  void operator()(std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) x[i] += 1.0;
  }
};

// [[Rcpp::export]]
void loop_rcppparallel(int calls, int threads) {
  std::vector<double> x(1000);
  AddOne w(x.data());
  for (int k = 0; k < calls; ++k) RcppParallel::parallelFor(0, 1000, w, 10, threads);
}

// [[Rcpp::export]]
void loop_reused_arena(int calls, int threads) {
  static tbb::task_arena* arena = nullptr;  // one arena for the session
  if (!arena) arena = new tbb::task_arena(threads);
  std::vector<double> x(1000);
  for (int k = 0; k < calls; ++k) {
    arena->execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, 1000, 10),
                        [&](const tbb::blocked_range<std::size_t>& r) {
                          for (std::size_t i = r.begin(); i < r.end(); ++i) x[i] += 1.0;
                        });
    });
  }
}
