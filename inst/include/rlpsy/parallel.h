// rlpsy core: how parallel loops are run, without tying the core to R.
//
// The numerical code calls `run(n, grain, body)`, where body(begin, end)
// processes the indices [begin, end) and writes only to its own slots. The
// Rcpp glue supplies a Runner backed by a TBB task arena; the default runs
// serially. Because bodies only write their own slots and every reduction is
// done afterwards, serially and in index order, results never depend on the
// number of threads, nor on how the range is cut into slices.
//
// Interrupts: a Runner may be asked to stop (the user pressed Ctrl-C). It
// finds out through `interrupted()`, which is only ever called on the calling
// thread, between slices of work, never from a worker; it then throws
// rlpsy::Interrupted there, after the workers have finished their slice. The
// core's own serial loops call `poll()` every so often. The glue turns
// Interrupted into an R interrupt.
#ifndef RLPSY_PARALLEL_H
#define RLPSY_PARALLEL_H

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>

namespace rlpsy {

using RangeBody = std::function<void(std::size_t, std::size_t)>;

// Thrown on the calling thread when the caller asked a computation to stop.
// Objects being computed are left in an unspecified (but valid) state.
struct Interrupted : std::exception {
  const char* what() const noexcept override { return "rlpsy: interrupted"; }
};

struct Runner {
  virtual ~Runner() = default;
  // Run body over [0, n) in chunks of at least `grain` indices.
  virtual void operator()(std::size_t n, std::size_t grain,
                          const RangeBody& body) const {
    (void)grain;
    if (n > 0) body(0, n);
  }
  // True when the caller asked to stop. Called on the calling thread only,
  // between pieces of work; the default never stops.
  virtual bool interrupted() const { return false; }
  // For serial loops of the core: throws Interrupted when interrupted().
  void poll() const {
    if (interrupted()) throw Interrupted();
  }
};

// Wall-clock throttle: due() is true at most once per `period` seconds, so
// an expensive check (asking R for pending interrupts) can be made from any
// loop without slowing it down.
class Throttle {
 public:
  explicit Throttle(double period) : period_(period), last_(clock::now()) {}
  bool due() {
    const clock::time_point now = clock::now();
    if (std::chrono::duration<double>(now - last_).count() < period_) {
      return false;
    }
    last_ = now;
    return true;
  }

 private:
  using clock = std::chrono::steady_clock;
  double period_;
  clock::time_point last_;
};

// Runs [0, n) as consecutive slices [b, e), each by exec(b, e) (which may
// spread a slice over threads and returns when all of it is done), and calls
// run.poll() between slices, on the calling thread. Slices start at
// `first` indices and double while a slice takes less than `target`
// seconds (halving when one takes more than four times that), so a long
// loop is checked a few times per second whatever its cost per index.
template <class Exec>
void run_in_slices(std::size_t n, std::size_t first, double target,
                   const Runner& run, Exec exec) {
  using clock = std::chrono::steady_clock;
  std::size_t slice = first > 0 ? first : 1;
  const std::size_t min_slice = slice;
  std::size_t b = 0;
  while (b < n) {
    const std::size_t e = n - b > slice ? b + slice : n;
    const clock::time_point t0 = clock::now();
    exec(b, e);
    b = e;
    run.poll();
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    if (dt < target && slice < n) {
      slice *= 2;
    } else if (dt > 4 * target && slice / 2 >= min_slice) {
      slice /= 2;
    }
  }
}

}  // namespace rlpsy

#endif
