// rlpsy core: checks and per-participant counts over encoded decisions, in
// one or two passes without allocation proportional to N (the R side would
// need several vector passes of 10^7 elements for the same). Plain C++.
#ifndef RLPSY_CHECKS_H
#define RLPSY_CHECKS_H

#include <cmath>
#include <string>
#include <vector>

namespace rlpsy {

// Encoded decisions as the R object rlpsy_data holds them (0-based codes,
// ordered by participant; `available` is the S x K column-major logical
// matrix, 0/1 or NA as INT_MIN; reward may be null). Types and lengths are
// checked by the caller.
struct EncodedView {
  int J, S, K;
  long N;
  const int* offsets;      // J + 1
  const int* participant;  // N
  const int* state;        // N
  const int* action;       // N
  const int* next_state;   // N
  const int* done;         // N
  const double* reward;    // N or null
  const int* available;    // S * K
};

namespace detail {
inline std::string at(const char* field, long i, long value, const char* want) {
  return std::string("field `") + field + "` has " + std::to_string(value) +
         " at position " + std::to_string(i + 1) + " (" + want + ").";
}
}  // namespace detail

// The first problem of an encoding, described for a message, or "" when it
// is valid: offsets 0 = o[0] <= ... <= o[J] = N; participant codes agree
// with the offsets; state, next_state in 0..S-1, action in 0..K-1, done 0/1;
// rewards finite with |r| <= max_abs_reward; available 0/1, every state with
// an available action, every chosen action available.
inline std::string encoding_problem(const EncodedView& e, double max_abs_reward) {
  if (e.offsets[0] != 0 || e.offsets[e.J] != e.N) {
    return "field `offsets` must run from 0 to n_decisions = " + std::to_string(e.N) + ".";
  }
  for (int j = 0; j < e.J; ++j) {
    if (e.offsets[j + 1] < e.offsets[j] || e.offsets[j + 1] > e.N) {
      return detail::at("offsets", j + 1, e.offsets[j + 1],
                        "offsets must not decrease nor pass n_decisions");
    }
    for (long t = e.offsets[j]; t < e.offsets[j + 1]; ++t) {
      if (e.participant[t] != j) {
        return detail::at("participant", t, e.participant[t], "it disagrees with `offsets`");
      }
    }
  }
  const long SK = static_cast<long>(e.S) * e.K;
  for (long p = 0; p < SK; ++p) {
    if (e.available[p] != 0 && e.available[p] != 1) {
      return "field `available` has a missing value (NA).";
    }
  }
  for (int s = 0; s < e.S; ++s) {
    bool any = false;
    for (int a = 0; a < e.K && !any; ++a) any = e.available[s + static_cast<long>(a) * e.S] != 0;
    if (!any) return "field `available` leaves state " + std::to_string(s + 1) + " without actions.";
  }
  const std::string s_range = "codes must be 0.." + std::to_string(e.S - 1);
  const std::string a_range = "codes must be 0.." + std::to_string(e.K - 1);
  for (long t = 0; t < e.N; ++t) {
    const int s = e.state[t], a = e.action[t];
    if (s < 0 || s >= e.S) return detail::at("state", t, s, s_range.c_str());
    if (a < 0 || a >= e.K) return detail::at("action", t, a, a_range.c_str());
    if (e.next_state[t] < 0 || e.next_state[t] >= e.S) {
      return detail::at("next_state", t, e.next_state[t], s_range.c_str());
    }
    if (e.done[t] != 0 && e.done[t] != 1) return detail::at("done", t, e.done[t], "must be 0 or 1");
    if (!e.available[s + static_cast<long>(a) * e.S]) {
      return "field `available` marks the action chosen at position " +
             std::to_string(t + 1) + " as unavailable.";
    }
    if (e.reward && !(std::fabs(e.reward[t]) <= max_abs_reward)) {
      return "field `reward` has a missing, infinite or too large value at position " +
             std::to_string(t + 1) + ".";
    }
  }
  return "";
}

// Per participant j: n_choice[j], the decisions made in states with more
// than one available action, and n_info[j], those of them made in states
// that inform beta: states in which more than one participant made
// decisions, or more than one action was chosen (in a state only j visited
// and where j always chose the same action, the advantage can fit j's
// choices exactly). See identification_participants() in R.
inline void identification_counts(const EncodedView& e, std::vector<int>& n_choice,
                                  std::vector<int>& n_info) {
  std::vector<int> first_p(e.S, -1), first_a(e.S, -1);
  std::vector<char> informs(e.S, 0), choice(e.S, 0);
  for (int s = 0; s < e.S; ++s) {
    int k = 0;
    for (int a = 0; a < e.K; ++a) k += e.available[s + static_cast<long>(a) * e.S] != 0;
    choice[s] = k > 1;
  }
  for (long t = 0; t < e.N; ++t) {
    const int s = e.state[t];
    if (first_p[s] < 0) {
      first_p[s] = e.participant[t];
      first_a[s] = e.action[t];
    } else if (first_p[s] != e.participant[t] || first_a[s] != e.action[t]) {
      informs[s] = 1;
    }
  }
  n_choice.assign(e.J, 0);
  n_info.assign(e.J, 0);
  for (long t = 0; t < e.N; ++t) {
    const int s = e.state[t];
    if (!choice[s]) continue;
    ++n_choice[e.participant[t]];
    if (informs[s]) ++n_info[e.participant[t]];
  }
}

}  // namespace rlpsy

#endif
