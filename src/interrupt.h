// Glue between the core's interrupt seam (rlpsy::Runner::interrupted,
// rlpsy::Interrupted; see inst/include/rlpsy/parallel.h) and R: asks R,
// on the main thread only, whether the user pressed Ctrl-C, and turns the
// core's Interrupted exception into an R interrupt condition.
#ifndef RLPSY_GLUE_INTERRUPT_H
#define RLPSY_GLUE_INTERRUPT_H

#include <Rcpp.h>
#include <rlpsy/parallel.h>

#include <thread>

namespace rlpsy_glue {

// R_CheckUserInterrupt() longjmps when an interrupt is pending; run inside
// R_ToplevelExec, the jump ends there (never crossing C++ frames), and the
// pending interrupt is consumed: we re-signal it with Rf_onintr() later.
inline void check_interrupt_fn(void*) { R_CheckUserInterrupt(); }

// True once the user asked R to stop. Asks R at most every `period` seconds
// and only on the thread that made this object (R's main thread); on any
// other thread (a TBB worker) it never touches R and says false.
class RInterrupt {
 public:
  explicit RInterrupt(double period = 0.02)
      : throttle_(period), owner_(std::this_thread::get_id()) {}
  bool operator()() const {
    if (stop_) return true;
    if (std::this_thread::get_id() != owner_ || !throttle_.due()) return false;
    stop_ = R_ToplevelExec(check_interrupt_fn, nullptr) == FALSE;
    return stop_;
  }

 private:
  mutable rlpsy::Throttle throttle_;
  mutable bool stop_ = false;
  std::thread::id owner_;
};

// A serial Runner that only polls R for interrupts (for the task tools).
struct PollingRunner : rlpsy::Runner {
  RInterrupt intr;
  bool interrupted() const override { return intr(); }
};

// Runs f(); an rlpsy::Interrupted thrown by the core becomes Rcpp's
// InterruptedException, which the Rcpp wrappers (END_RCPP) turn into an R
// interrupt condition (catchable with tryCatch(interrupt = )).
template <class F>
auto with_interrupts(F f) -> decltype(f()) {
  try {
    return f();
  } catch (const rlpsy::Interrupted&) {
    throw Rcpp::internal::InterruptedException();
  }
}

}  // namespace rlpsy_glue

#endif
