// rlpsy core: how parallel loops are run, without tying the core to R.
//
// The numerical code calls `run(n, grain, body)`, where body(begin, end)
// processes the indices [begin, end) and writes only to its own slots. The
// Rcpp glue supplies a Runner backed by RcppParallel::parallelFor; the
// default runs serially. Because bodies only write their own slots and every
// reduction is done afterwards, serially and in index order, results never
// depend on the number of threads.
#ifndef RLPSY_PARALLEL_H
#define RLPSY_PARALLEL_H

#include <cstddef>
#include <functional>

namespace rlpsy {

using RangeBody = std::function<void(std::size_t, std::size_t)>;

struct Runner {
  virtual ~Runner() = default;
  // Run body over [0, n) in chunks of at least `grain` indices.
  virtual void operator()(std::size_t n, std::size_t grain,
                          const RangeBody& body) const {
    (void)grain;
    if (n > 0) body(0, n);
  }
};

}  // namespace rlpsy

#endif
