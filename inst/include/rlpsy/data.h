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

// The task's sufficient statistics: what the Bellman and CQL terms (the
// penalties) see. They do not depend on who made the decisions.
struct TaskStats {
  int S = 0, K = 0;
  long N = 0;
  bool observed_reward = false;

  std::vector<uint8_t> avail;  // S*K row-major: 1 if action a exists in s
  std::vector<int> n_avail;    // K_s

  std::vector<double> n_s;   // decisions in state s
  std::vector<double> n_sa;  // S*K row-major: decisions (s, a)

  // Bellman tuples (s, a, s', d) with count, mean observed reward and the
  // within-tuple sum of squares of the observed reward (0 when learned);
  // the tuples of one (s, a) pair are contiguous
  std::vector<int> b_s, b_a, b_next;
  std::vector<uint8_t> b_done;
  std::vector<double> b_n, b_rbar, b_ss;
};

// The per-participant sufficient statistics of one shard: the participants
// [j0, j0 + J), with participant-local indices. What the behaviour term and
// the E-step see. A "unit" is one (participant, state) pair with at least
// one decision; a "cell" one (participant, state, action) with a count.
struct PersonStats {
  int J = 0, j0 = 0;
  long N = 0;  // decisions of the shard's participants

  // participant-major units: units of local participant j are
  // [pu_off[j], pu_off[j+1])
  // (counts are int: they are decision counts, and the four count arrays
  // are the largest part of the statistics)
  std::vector<int> pu_off, u_state;
  std::vector<int> u_n;  // n_j(s)
  // cells of unit u are [uc_off[u], uc_off[u+1])
  std::vector<int> uc_off, c_action;
  std::vector<int> c_n;  // n_j(s, a)

  // state-major view of the units: units in state s are
  // [su_off[s], su_off[s+1]); su_part = local participant, su_n = n_j(s)
  std::vector<int> su_off, su_part;
  std::vector<int> su_n;
  // the cells of state-major unit i are [sc_off[i], sc_off[i+1]), so the
  // M-step's chosen-action term runs in the parallel block pass
  std::vector<int> sc_off, sc_action;
  std::vector<int> sc_n;

  // blocks, the unit of parallel work in the M-step: the units of one state
  // whose participants fall in one chunk of kChunk consecutive participants
  // (global indices), so at most kChunk units. Block i covers state-major
  // units [blk_off[i], blk_off[i+1]) of state blk_state[i]; the blocks of
  // state s are [sb_off[s], sb_off[s+1]). Shards split at chunk boundaries,
  // so a sharded fit has the same blocks, summed in the same order, as the
  // unsharded one: the same sums to the last bit.
  static constexpr int kChunk = 1024;
  std::vector<int> blk_state, blk_off, sb_off;

  long n_units() const { return static_cast<long>(u_state.size()); }
  long n_cells() const { return static_cast<long>(c_n.size()); }
};

// Sufficient statistics of a fit: the task's, and the participants' in one
// or more shards (consecutive participant ranges). Every sum over
// participants runs over the shards in order, so a fit from shards equals
// the unsharded fit up to the order of floating-point additions.
struct Data : TaskStats {
  int J = 0;
  std::vector<PersonStats> shards;

  long n_units() const {
    long u = 0;
    for (const PersonStats& p : shards) u += p.n_units();
    return u;
  }
  long n_cells() const {
    long c = 0;
    for (const PersonStats& p : shards) c += p.n_cells();
    return c;
  }
  // the shard holding participant j
  const PersonStats& shard_of(int j) const {
    size_t k = 0;
    while (k + 1 < shards.size() && shards[k + 1].j0 <= j) ++k;
    return shards[k];
  }
};

// poll for interrupts every 65536 steps of a long loop
inline void tick(const Runner& run, long i) {
  if ((i & 0xFFFF) == 0) run.poll();
}

// The task's statistics from all decisions. Throws std::invalid_argument
// when an invariant the R side guarantees is broken (indices out of range).
inline void compress_task(const RawDecisions& raw, TaskStats& d,
                          const Runner& run) {
  d.S = raw.n_states;
  d.K = raw.n_actions;
  d.N = raw.n_decisions();
  d.observed_reward = raw.reward != nullptr;
  const int S = d.S, K = d.K;
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
  for (long t = 0; t < d.N; ++t) {
    tick(run, t);
    const int s = raw.state[t], a = raw.action[t], s2 = raw.next_state[t];
    if (s < 0 || s >= S || a < 0 || a >= K || s2 < 0 || s2 >= S)
      throw std::invalid_argument("decision index out of range");
    d.n_s[s] += 1.0;
    d.n_sa[static_cast<size_t>(s) * K + a] += 1.0;
  }

  // Bellman tuples: bucket the decisions by (s, a) with a counting sort,
  // order each (small) bucket by (s', d, t), then run-length encode. The
  // order within a tuple is the data order, so the reward sums are
  // reproducible.
  const long SK = static_cast<long>(S) * K;
  std::vector<long> bucket(SK + 1, 0);
  run.poll();
  for (long t = 0; t < d.N; ++t) {
    tick(run, t);
    bucket[static_cast<long>(raw.state[t]) * K + raw.action[t] + 1]++;
  }
  for (long b = 0; b < SK; ++b) bucket[b + 1] += bucket[b];
  std::vector<long> idx(d.N);
  {
    std::vector<long> fill(bucket.begin(), bucket.end() - 1);
    for (long t = 0; t < d.N; ++t) {
      tick(run, t);
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
                tick(run, ++n_cmp);
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
    tick(run, ++step);
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
}

// The statistics of participants [j0, j1) (indices validated by
// compress_task). States with raw.behaviour[s] == 0 give no units.
inline PersonStats compress_persons(const RawDecisions& raw, int j0, int j1,
                                    const Runner& run) {
  PersonStats d;
  d.j0 = j0;
  d.J = j1 - j0;
  d.N = raw.offsets[j1] - raw.offsets[j0];
  const int S = raw.n_states, K = raw.n_actions;
  d.pu_off.assign(d.J + 1, 0);
  // at most one unit and one cell per decision: reserve that, and give back
  // what was not used below (growing by doubling would briefly hold up to
  // three times each array)
  d.u_state.reserve(d.N);
  d.u_n.reserve(d.N);
  d.uc_off.reserve(d.N + 1);
  d.c_action.reserve(d.N);
  d.c_n.reserve(d.N);
  d.uc_off.push_back(0);

  // per participant: count (s, a) with a dense scratch row per touched state
  std::vector<int> scratch(static_cast<size_t>(S) * K, 0);
  std::vector<int> seen_state(S, -1);
  std::vector<int> touched;
  for (int j = 0; j < d.J; ++j) {
    if (j % 1024 == 0) run.poll();
    touched.clear();
    for (int t = raw.offsets[j0 + j]; t < raw.offsets[j0 + j + 1]; ++t) {
      tick(run, t);
      const int s = raw.state[t];
      if (seen_state[s] != j) {
        seen_state[s] = j;
        touched.push_back(s);
      }
      scratch[static_cast<size_t>(s) * K + raw.action[t]] += 1;
    }
    std::sort(touched.begin(), touched.end());
    for (int s : touched) {
      const size_t first = d.c_action.size();
      int tot = 0;
      for (int a = 0; a < K; ++a) {
        int& c = scratch[static_cast<size_t>(s) * K + a];
        if (c > 0) {
          d.c_action.push_back(a);
          d.c_n.push_back(c);
          tot += c;
          c = 0;
        }
      }
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
  // give back the unused capacity
  d.u_state.shrink_to_fit();
  d.u_n.shrink_to_fit();
  d.uc_off.shrink_to_fit();
  d.c_action.shrink_to_fit();
  d.c_n.shrink_to_fit();

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
        tick(run, u);
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

  d.sb_off.assign(S + 1, 0);
  for (int s = 0; s < S; ++s) {
    int chunk = -1;
    for (int b = d.su_off[s]; b < d.su_off[s + 1]; ++b) {
      const int c = (j0 + d.su_part[b]) / PersonStats::kChunk;
      if (c == chunk) continue;
      chunk = c;
      d.blk_state.push_back(s);
      d.blk_off.push_back(b);
    }
    d.sb_off[s + 1] = static_cast<int>(d.blk_state.size());
  }
  d.blk_off.push_back(static_cast<int>(U));
  return d;
}

// Build the sufficient statistics, the participants cut into `n_shards`
// consecutive ranges of about equal size, split at chunk boundaries (see
// PersonStats::kChunk; at most one shard per chunk). Throws
// std::invalid_argument when an invariant the R side guarantees is broken,
// and Interrupted when `run` is interrupted.
inline Data compress(const RawDecisions& raw, const Runner& run = Runner(),
                     int n_shards = 1) {
  Data d;
  compress_task(raw, d, run);
  d.J = raw.n_participants;
  const long chunks = (static_cast<long>(d.J) + PersonStats::kChunk - 1) / PersonStats::kChunk;
  n_shards = static_cast<int>(std::max(1L, std::min<long>(n_shards, chunks)));
  for (int k = 0; k < n_shards; ++k) {
    auto edge = [&](int i) {
      return static_cast<int>(std::min<long>(d.J, chunks * i / n_shards * PersonStats::kChunk));
    };
    d.shards.push_back(compress_persons(raw, edge(k), k + 1 == n_shards ? d.J : edge(k + 1), run));
  }
  return d;
}

}  // namespace rlpsy

#endif
