// rlpsy core: the decision data compressed to sufficient statistics.
//
// Plain C++ (no R headers). Built once per fit from the encoded decisions
// (participant-sorted, 0-based arrays) and reused by every E- and M-step.
//
// The behaviour term depends on the data only through the per-participant
// counts n_j(s, a); the Bellman term only through counts of (s, a, s', d)
// (with the sum and sum of squares of the observed reward); the CQL term only
// through n(s) and n(s, a). DESIGN.md section 4.
#ifndef RLPSY_DATA_H
#define RLPSY_DATA_H

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "parallel.h"

namespace rlpsy {

// Raw decisions as the R side encodes them. All indices 0-based; decisions
// are sorted by participant, participant j owning [offsets[j], offsets[j+1]).
struct RawDecisions {
  int n_participants = 0, n_states = 0, n_actions = 0;
  const int* offsets = nullptr;     // length n_participants + 1
  const int* state = nullptr;       // length N
  const int* action = nullptr;      // length N
  const int* next_state = nullptr;  // length N
  const int* done = nullptr;        // length N, 0/1
  const double* reward = nullptr;   // length N, or nullptr (reward learned)
  const int* available = nullptr;   // S x K, column-major (R layout), 0/1
  const int* behaviour = nullptr;   // length S, 0/1: states whose decisions
                                    // enter the behaviour term (nullptr: all)
  long n_decisions() const { return offsets[n_participants]; }
};

// Sufficient statistics. A "unit" is one (participant, state) pair with at
// least one decision; a "cell" one (participant, state, action) with a count.
struct Data {
  int J = 0, S = 0, K = 0;
  long N = 0;
  bool observed_reward = false;

  std::vector<uint8_t> avail;  // S*K row-major: 1 if action a exists in s
  std::vector<int> n_avail;    // K_s

  // participant-major units: units of j are [pu_off[j], pu_off[j+1])
  std::vector<int> pu_off, u_state;
  std::vector<double> u_n;  // n_j(s)
  // cells of unit u are [uc_off[u], uc_off[u+1])
  std::vector<int> uc_off, c_action;
  std::vector<double> c_n;  // n_j(s, a)

  // state-major view of the units: units in state s are
  // [su_off[s], su_off[s+1]); su_part = participant, su_n = n_j(s)
  std::vector<int> su_off, su_part;
  std::vector<double> su_n;
  // the cells of state-major unit i are [sc_off[i], sc_off[i+1]), so the
  // M-step's chosen-action term runs in the parallel block pass
  std::vector<int> sc_off, sc_action;
  std::vector<double> sc_n;

  std::vector<double> n_s;   // decisions in state s
  std::vector<double> n_sa;  // S*K row-major: decisions (s, a)

  // Bellman tuples (s, a, s', d) with count, mean observed reward and the
  // within-tuple sum of squares of the observed reward (0 when learned)
  std::vector<int> b_s, b_a, b_next;
  std::vector<uint8_t> b_done;
  std::vector<double> b_n, b_rbar, b_ss;

  // blocks of at most kBlock units of one state, the unit of parallel work
  // in the M-step: block i covers state-major units [blk_off[i], blk_off[i+1])
  // of state blk_state[i]; the blocks of state s are [sb_off[s], sb_off[s+1])
  static constexpr int kBlock = 1024;
  std::vector<int> blk_state, blk_off, sb_off;

  long n_units() const { return static_cast<long>(u_state.size()); }
};

// Build the sufficient statistics. Throws std::invalid_argument when an
// invariant the R side guarantees is broken (indices out of range), and
// Interrupted when `run` is interrupted (polled every few thousand items).
inline Data compress(const RawDecisions& raw, const Runner& run = Runner()) {
  Data d;
  d.J = raw.n_participants;
  d.S = raw.n_states;
  d.K = raw.n_actions;
  d.N = raw.n_decisions();
  d.observed_reward = raw.reward != nullptr;
  const int S = d.S, K = d.K;
  // poll for interrupts every 65536 steps of a long loop
  auto tick = [&run](long i) {
    if ((i & 0xFFFF) == 0) run.poll();
  };

  d.avail.assign(static_cast<size_t>(S) * K, 1);
  d.n_avail.assign(S, K);
  if (raw.available) {
    for (int s = 0; s < S; ++s) {
      int k = 0;
      for (int a = 0; a < K; ++a) {
        uint8_t v = raw.available[s + static_cast<long>(a) * S] != 0;
        d.avail[static_cast<size_t>(s) * K + a] = v;
        k += v;
      }
      d.n_avail[s] = k;
    }
  }

  d.n_s.assign(S, 0.0);
  d.n_sa.assign(static_cast<size_t>(S) * K, 0.0);
  d.pu_off.assign(d.J + 1, 0);
  d.uc_off.push_back(0);

  // per participant: count (s, a) with a dense scratch row per touched state
  std::vector<double> scratch(static_cast<size_t>(S) * K, 0.0);
  std::vector<int> seen_state(S, -1);
  std::vector<int> touched;
  for (int j = 0; j < d.J; ++j) {
    if (j % 1024 == 0) run.poll();
    touched.clear();
    for (int t = raw.offsets[j]; t < raw.offsets[j + 1]; ++t) {
      tick(t);
      int s = raw.state[t], a = raw.action[t], s2 = raw.next_state[t];
      if (s < 0 || s >= S || a < 0 || a >= K || s2 < 0 || s2 >= S)
        throw std::invalid_argument("decision index out of range");
      if (seen_state[s] != j) {
        seen_state[s] = j;
        touched.push_back(s);
      }
      scratch[static_cast<size_t>(s) * K + a] += 1.0;
    }
    std::sort(touched.begin(), touched.end());
    for (int s : touched) {
      const size_t first = d.c_action.size();
      double tot = 0.0;
      for (int a = 0; a < K; ++a) {
        double& c = scratch[static_cast<size_t>(s) * K + a];
        if (c > 0) {
          d.c_action.push_back(a);
          d.c_n.push_back(c);
          d.n_sa[static_cast<size_t>(s) * K + a] += c;
          tot += c;
          c = 0.0;
        }
      }
      d.n_s[s] += tot;
      if (raw.behaviour && !raw.behaviour[s]) {
        // a state given zero weight in the behaviour term: its decisions
        // count for the task (n_s, n_sa, Bellman tuples), not for beta
        d.c_action.resize(first);
        d.c_n.resize(first);
        continue;
      }
      d.u_state.push_back(s);
      d.u_n.push_back(tot);
      d.uc_off.push_back(static_cast<int>(d.c_action.size()));
    }
    d.pu_off[j + 1] = static_cast<int>(d.u_state.size());
  }

  // state-major view (counting sort of the units by state)
  const long U = d.n_units();
  d.su_off.assign(S + 1, 0);
  run.poll();
  for (long u = 0; u < U; ++u) d.su_off[d.u_state[u] + 1]++;
  for (int s = 0; s < S; ++s) d.su_off[s + 1] += d.su_off[s];
  d.su_part.resize(U);
  d.su_n.resize(U);
  std::vector<int> unit_of(U);  // state-major position -> participant-major unit
  {
    std::vector<int> fill(d.su_off.begin(), d.su_off.end() - 1);
    for (int j = 0; j < d.J; ++j)
      for (int u = d.pu_off[j]; u < d.pu_off[j + 1]; ++u) {
        tick(u);
        int pos = fill[d.u_state[u]]++;
        d.su_part[pos] = j;
        d.su_n[pos] = d.u_n[u];
        unit_of[pos] = u;
      }
  }
  d.sc_off.assign(U + 1, 0);
  d.sc_action.reserve(d.c_action.size());
  d.sc_n.reserve(d.c_n.size());
  for (long i = 0; i < U; ++i) {
    const int u = unit_of[i];
    for (int c = d.uc_off[u]; c < d.uc_off[u + 1]; ++c) {
      d.sc_action.push_back(d.c_action[c]);
      d.sc_n.push_back(d.c_n[c]);
    }
    d.sc_off[i + 1] = static_cast<int>(d.sc_action.size());
  }

  // Bellman tuples: bucket the decisions by (s, a) with a counting sort,
  // order each (small) bucket by (s', d, t), then run-length encode. The
  // order within a tuple is the data order, so the reward sums are
  // reproducible.
  const long SK = static_cast<long>(S) * K;
  std::vector<long> bucket(SK + 1, 0);
  run.poll();
  for (long t = 0; t < d.N; ++t) {
    tick(t);
    bucket[static_cast<long>(raw.state[t]) * K + raw.action[t] + 1]++;
  }
  for (long b = 0; b < SK; ++b) bucket[b + 1] += bucket[b];
  std::vector<long> idx(d.N);
  {
    std::vector<long> fill(bucket.begin(), bucket.end() - 1);
    for (long t = 0; t < d.N; ++t) {
      tick(t);
      idx[fill[static_cast<long>(raw.state[t]) * K + raw.action[t]]++] = t;
    }
  }
  auto next_key = [&](long t) {
    return static_cast<long long>(raw.next_state[t]) * 2 + (raw.done[t] != 0);
  };
  run.poll();
  long n_cmp = 0;  // comparisons, to poll inside the sort of a huge bucket
  for (long b = 0; b < SK; ++b) {
    if (b % 1024 == 0) run.poll();
    std::sort(idx.begin() + bucket[b], idx.begin() + bucket[b + 1],
              [&](long x, long y) {
                tick(++n_cmp);
                const long long kx = next_key(x), ky = next_key(y);
                return kx < ky || (kx == ky && x < y);
              });
  }
  run.poll();
  auto key = [&](long t) {
    return (static_cast<long long>(raw.state[t]) * K + raw.action[t]) *
               (2LL * S) + next_key(t);
  };
  long long last = -1;
  long step = 0;
  for (long t : idx) {
    tick(++step);
    long long k = key(t);
    double r = d.observed_reward ? raw.reward[t] : 0.0;
    if (k != last) {
      d.b_s.push_back(raw.state[t]);
      d.b_a.push_back(raw.action[t]);
      d.b_next.push_back(raw.next_state[t]);
      d.b_done.push_back(raw.done[t] != 0);
      d.b_n.push_back(0.0);
      d.b_rbar.push_back(0.0);
      d.b_ss.push_back(0.0);
      last = k;
    }
    // Welford: running mean and sum of squared deviations
    double& n = d.b_n.back();
    double& mean = d.b_rbar.back();
    n += 1.0;
    const double dev = r - mean;
    mean += dev / n;
    d.b_ss.back() += dev * (r - mean);
  }

  d.sb_off.assign(S + 1, 0);
  for (int s = 0; s < S; ++s) {
    for (int b = d.su_off[s]; b < d.su_off[s + 1]; b += Data::kBlock) {
      d.blk_state.push_back(s);
      d.blk_off.push_back(b);
    }
    d.sb_off[s + 1] = static_cast<int>(d.blk_state.size());
  }
  d.blk_off.push_back(static_cast<int>(U));
  return d;
}

}  // namespace rlpsy

#endif
