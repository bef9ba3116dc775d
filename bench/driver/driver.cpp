// Standalone benchmark driver for the rlpsy core: no R, no TBB.
//
//   ./rlpsy-driver [--decisions 1e6] [--participants P] [--states S]
//                  [--actions K] [--min-actions k] [--threads-max N]
//                  [--reps 5] [--seed 1] [--runner pool|spawn] [--pin 0|1]
//
// Builds a random sparse MDP and simulated decisions itself (as bench/tasks.R
// does), compresses them with rlpsy::compress(), and times (a) one objective
// + gradient (Model::value_grad) and (b) one cold E-step (estep from z = 0)
// at 1..N threads through a std::thread Runner. Checks that every result is
// bit-identical to the 1-thread result and prints a markdown table with the
// machine. See bench/README.md, "Standalone C++ driver".
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "rlpsy/estep.h"
#include "rlpsy/model.h"

namespace {

// ---------------------------------------------------------------------------
// Two Runners. The core's bodies write only their own slots and reduce
// serially afterwards, so neither the runner nor the split changes any
// result (checked bit for bit below).
//
// SpawnRunner: [0, n) in T contiguous, equal-length chunks (fewer when
// n / grain is smaller), chunk 0 on the calling thread, threads started per
// call. Equal index counts are not equal work: states and blocks differ in
// size.
struct SpawnRunner : rlpsy::Runner {
  unsigned threads;
  explicit SpawnRunner(unsigned t) : threads(t < 1 ? 1 : t) {}
  void operator()(std::size_t n, std::size_t grain,
                  const rlpsy::RangeBody& body) const override {
    if (n == 0) return;
    if (grain < 1) grain = 1;
    std::size_t chunks = std::min<std::size_t>(threads, (n + grain - 1) / grain);
    if (chunks <= 1) {
      body(0, n);
      return;
    }
    std::vector<std::exception_ptr> err(chunks);
    auto part = [&](std::size_t c) {
      try {
        body(n * c / chunks, n * (c + 1) / chunks);
      } catch (...) {
        err[c] = std::current_exception();
      }
    };
    std::vector<std::thread> pool;
    pool.reserve(chunks - 1);
    for (std::size_t c = 1; c < chunks; ++c) pool.emplace_back(part, c);
    part(0);
    for (auto& t : pool) t.join();
    for (auto& e : err)
      if (e) std::rethrow_exception(e);
  }
};

// PoolRunner: T - 1 persistent std::threads plus the calling thread take
// pieces of [0, n) from an atomic counter until none is left (dynamic
// scheduling, as TBB's parallel_for does for the package): about 32 pieces
// per thread, none smaller than `grain`, so a thread that drew small
// pieces takes more of them.
class PoolRunner : public rlpsy::Runner {
 public:
  // pin: bind thread i (the caller is thread 0) to CPU i, so that the
  // operating system does not move threads between cores
  explicit PoolRunner(unsigned t, bool pin = false) : threads_(t < 1 ? 1 : t) {
    for (unsigned i = 1; i < threads_; ++i)
      workers_.emplace_back([this, i, pin] {
        if (pin) pin_to(i);
        loop();
      });
  }
  static void pin_to(unsigned cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % CPU_SETSIZE, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  ~PoolRunner() override {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }
  PoolRunner(const PoolRunner&) = delete;
  PoolRunner& operator=(const PoolRunner&) = delete;

  void operator()(std::size_t n, std::size_t grain,
                  const rlpsy::RangeBody& body) const override {
    if (n == 0) return;
    if (grain < 1) grain = 1;
    if (threads_ == 1 || n <= grain) {
      body(0, n);
      return;
    }
    {
      std::lock_guard<std::mutex> lk(m_);
      body_ = &body;
      n_ = n;
      piece_ = std::max<std::size_t>(grain, n / (32 * threads_));
      next_.store(0);
      busy_ = static_cast<unsigned>(workers_.size());
      err_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock<std::mutex> lk(m_);
    done_.wait(lk, [this] { return busy_ == 0; });
    if (err_) std::rethrow_exception(err_);
  }

 private:
  void work() const {
    for (;;) {
      const std::size_t b = next_.fetch_add(piece_);
      if (b >= n_) return;
      try {
        (*body_)(b, std::min(n_, b + piece_));
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        if (!err_) err_ = std::current_exception();
      }
    }
  }
  void loop() {
    unsigned long seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lk(m_);
      wake_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      lk.unlock();
      work();
      lk.lock();
      if (--busy_ == 0) done_.notify_one();
    }
  }

  const unsigned threads_;
  std::vector<std::thread> workers_;
  mutable std::mutex m_;
  mutable std::condition_variable wake_, done_;
  mutable const rlpsy::RangeBody* body_ = nullptr;
  mutable std::size_t n_ = 0, piece_ = 1;
  mutable std::atomic<std::size_t> next_{0};
  mutable unsigned busy_ = 0;
  mutable unsigned long generation_ = 0;
  mutable std::exception_ptr err_;
  bool stop_ = false;
};

struct Options {
  long decisions = 1000000, participants = 0;
  int states = 0, actions = 0, min_actions = 0;
  unsigned threads_max = 0;
  int reps = 5;
  unsigned long long seed = 1;
  bool spawn = false;  // --runner spawn: SpawnRunner; default pool
  bool pin = false;    // --pin 1: pool threads bound to CPUs 0..T-1
};

[[noreturn]] void usage(const char* msg) {
  if (msg) std::fprintf(stderr, "rlpsy-driver: %s\n", msg);
  std::fprintf(stderr,
      "usage: rlpsy-driver [--decisions 1e6] [--participants P] [--states S]\n"
      "                    [--actions K] [--min-actions k] [--threads-max N]\n"
      "                    [--reps 5] [--seed 1] [--runner pool|spawn] [--pin 0|1]\n"
      "defaults as bench/common.R: P = decisions / 100; 500 states x 5 actions\n"
      "below 1e7 decisions, else 1000 x 10 with 5-10 available per state;\n"
      "N = hardware_concurrency; runner pool (persistent threads, dynamic\n"
      "pieces) or spawn (threads per call, equal contiguous chunks); --pin 1\n"
      "binds the pool's thread i to CPU i (the main thread to CPU 0).\n");
  std::exit(msg ? 2 : 0);
}

double number(const char* flag, const char* s) {
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (end == s || *end != '\0' || !std::isfinite(v) || v < 0 || v != std::floor(v))
    usage((std::string("bad value for ") + flag + ": " + s).c_str());
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "-h" || f == "--help") usage(nullptr);
    if (i + 1 >= argc) usage(("missing value for " + f).c_str());
    if (f == "--runner") {
      const std::string r = argv[++i];
      if (r != "pool" && r != "spawn") usage("--runner must be pool or spawn");
      o.spawn = r == "spawn";
      continue;
    }
    const double v = number(f.c_str(), argv[++i]);
    if (f == "--decisions") o.decisions = static_cast<long>(v);
    else if (f == "--participants") o.participants = static_cast<long>(v);
    else if (f == "--states") o.states = static_cast<int>(v);
    else if (f == "--actions") o.actions = static_cast<int>(v);
    else if (f == "--min-actions") o.min_actions = static_cast<int>(v);
    else if (f == "--threads-max") o.threads_max = static_cast<unsigned>(v);
    else if (f == "--reps") o.reps = static_cast<int>(v);
    else if (f == "--seed") o.seed = static_cast<unsigned long long>(v);
    else if (f == "--pin") o.pin = v != 0;
    else usage(("unknown flag " + f).c_str());
  }
  const bool big = o.decisions >= 10000000;
  if (o.participants == 0) o.participants = std::max(1L, o.decisions / 100);
  if (o.states == 0) o.states = big ? 1000 : 500;
  if (o.actions == 0) o.actions = big ? 10 : 5;
  if (o.min_actions == 0) o.min_actions = std::min(o.actions, 5);
  if (o.threads_max == 0) o.threads_max = std::max(1u, std::thread::hardware_concurrency());
  if (o.decisions < 1 || o.participants > o.decisions)
    usage("need 1 <= participants <= decisions");
  if (o.decisions > 2000000000L) usage("at most 2e9 decisions (int offsets)");
  if (o.states < 1 || o.actions < 1 || o.min_actions < 1 || o.min_actions > o.actions)
    usage("need states >= 1 and 1 <= min-actions <= actions");
  if (o.reps < 1) usage("need reps >= 1");
  return o;
}

// The simulated decisions, in the layout rlpsy::RawDecisions points into.
struct Problem {
  int J, S, K;
  std::vector<int> offsets, state, action, next_state, done, available;
  std::vector<double> reward;
  std::vector<double> beta;  // true beta per participant
};

// A random sparse MDP (3 distinct next states per (s, a) with random
// probabilities, rewards U(-1, 1), a random 'min-actions'..K available
// actions per state), a random Q ~ N(0, 1), and participants with
// log beta ~ N(log 2, 0.5^2) choosing by softmax(beta A(s, .)), A the
// identified advantage of Q (the model's own policy). Each participant
// starts in a random state and follows the transitions; no terminal states.
Problem simulate(const Options& o) {
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  const int S = o.states, K = o.actions, B = std::min(3, S);
  Problem p;
  p.J = static_cast<int>(o.participants);
  p.S = S;
  p.K = K;
  // available: column-major S x K (R layout), as RawDecisions expects
  p.available.assign(static_cast<size_t>(S) * K, 1);
  std::vector<int> perm(K);
  for (int s = 0; s < S; ++s) {
    const int k = o.min_actions + static_cast<int>(unif(rng) * (K - o.min_actions + 1));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    for (int i = k; i < K; ++i) p.available[s + static_cast<size_t>(perm[i]) * S] = 0;
  }
  auto avail = [&](int s, int a) { return p.available[s + static_cast<size_t>(a) * S] != 0; };
  std::vector<int> nxt(static_cast<size_t>(S) * K * B);
  std::vector<double> cum(static_cast<size_t>(S) * K * B), rew(static_cast<size_t>(S) * K);
  std::uniform_int_distribution<int> pick_state(0, S - 1);
  for (size_t sa = 0; sa < static_cast<size_t>(S) * K; ++sa) {
    for (int b = 0; b < B; ++b) {
      int s2;
      do s2 = pick_state(rng);
      while (std::find(&nxt[sa * B], &nxt[sa * B] + b, s2) != &nxt[sa * B] + b);
      nxt[sa * B + b] = s2;
    }
    double tot = 0.0;
    for (int b = 0; b < B; ++b) tot += (cum[sa * B + b] = unif(rng) + 1e-12);
    double run = 0.0;
    for (int b = 0; b < B; ++b) cum[sa * B + b] = (run += cum[sa * B + b]) / tot;
    rew[sa] = 2.0 * unif(rng) - 1.0;
  }
  // identified advantage of a random Q, row-major S x K
  std::vector<double> A(static_cast<size_t>(S) * K, 0.0);
  for (int s = 0; s < S; ++s) {
    double mean = 0.0, ss = 0.0;
    int ks = 0;
    for (int a = 0; a < K; ++a) {
      A[s * K + a] = normal(rng);
      if (avail(s, a)) mean += A[s * K + a], ++ks;
    }
    mean /= ks;
    for (int a = 0; a < K; ++a) {
      A[s * K + a] = avail(s, a) ? A[s * K + a] - mean : 0.0;
      ss += A[s * K + a] * A[s * K + a];
    }
    const double rho = std::sqrt(ss / ks + 1e-8);
    for (int a = 0; a < K; ++a) A[s * K + a] /= rho;
  }
  p.beta.resize(p.J);
  for (int j = 0; j < p.J; ++j) p.beta[j] = std::exp(std::log(2.0) + 0.5 * normal(rng));

  const long N = o.decisions;
  p.offsets.resize(p.J + 1);
  for (int j = 0; j <= p.J; ++j) p.offsets[j] = static_cast<int>(N * j / p.J);
  p.state.resize(N);
  p.action.resize(N);
  p.next_state.resize(N);
  p.done.assign(N, 0);
  p.reward.resize(N);
  std::vector<double> w(K);
  for (int j = 0; j < p.J; ++j) {
    int s = pick_state(rng);
    const double b = p.beta[j];
    for (int t = p.offsets[j]; t < p.offsets[j + 1]; ++t) {
      double m = -INFINITY, z = 0.0;
      for (int a = 0; a < K; ++a)
        if (avail(s, a)) m = std::max(m, b * A[s * K + a]);
      for (int a = 0; a < K; ++a) z += (w[a] = avail(s, a) ? std::exp(b * A[s * K + a] - m) : 0.0);
      double u = unif(rng) * z;
      int a = 0;
      while (a < K - 1 && (w[a] == 0.0 || u >= w[a])) u -= w[a++];
      while (!avail(s, a)) --a;  // rounding at the end of the scan
      const size_t sa = static_cast<size_t>(s) * K + a;
      const double v = unif(rng);
      int bi = 0;
      while (bi < B - 1 && v > cum[sa * B + bi]) ++bi;
      p.state[t] = s;
      p.action[t] = a;
      p.next_state[t] = nxt[sa * B + bi];
      p.reward[t] = rew[sa];
      s = p.next_state[t];
    }
  }
  return p;
}

// The fit's starting Q (R/fit.R initial_state): log of the smoothed action
// frequencies per state, 0 where unavailable. Row-major S x K.
std::vector<double> start_q(const Problem& p) {
  const int S = p.S, K = p.K;
  std::vector<double> c(static_cast<size_t>(S) * K, 0.0), q(c.size(), 0.0);
  for (size_t t = 0; t < p.state.size(); ++t) c[static_cast<size_t>(p.state[t]) * K + p.action[t]] += 1.0;
  for (int s = 0; s < S; ++s) {
    double tot = 0.0;
    for (int a = 0; a < K; ++a)
      if (p.available[s + static_cast<size_t>(a) * S]) tot += c[s * K + a] + 0.5;
    for (int a = 0; a < K; ++a)
      if (p.available[s + static_cast<size_t>(a) * S]) q[s * K + a] = std::log((c[s * K + a] + 0.5) / tot);
  }
  return q;
}

// ---------------------------------------------------------------------------
// Every use of the rlpsy core API is in this block (see bench/README.md).
struct ObjResult {
  double value;
  rlpsy::Components comp;
  std::vector<double> grad;
};

struct Core {
  rlpsy::Model model;
  std::vector<double> theta;  // the Q at which both kernels run (S x K rows)
  Core(rlpsy::Data d) : model(std::move(d), settings()) {}

  // as rlpsy_control() defaults with an observed reward, gamma = 0.9
  static rlpsy::Settings settings() {
    rlpsy::Settings s;
    s.gamma = 0.9;
    s.tau = 1.0;
    s.eps = 1e-8;
    s.lambda_bell = 1.0;
    s.lambda_cql = 0.5;
    s.lambda_r = 1.0;
    return s;
  }

  // (b) one E-step from z0 under theta, prior N(0, 1), as core_estep()
  rlpsy::EStepResult estep(const std::vector<double>& z0, const rlpsy::Runner& run) {
    model.advantage(theta.data(), run);
    rlpsy::EStepOptions opt;  // max_iter 100, tol 1e-8 (rlpsy_control)
    const std::vector<double> mu(z0.size(), 0.0);
    return rlpsy::estep(model.data(), model.A().data(), model.amax().data(),
                        z0.data(), mu.data(), 1.0, opt, run);
  }
  // fix beta = exp(z) for the objective (not timed)
  void set_beta(const std::vector<double>& z) { model.set_beta(z.data()); }
  // (a) one objective + gradient at theta
  void objective(const rlpsy::Runner& run, ObjResult& r) {
    r.grad.assign(model.n_params(), 0.0);
    r.value = model.value_grad(theta.data(), r.grad.data(), run, &r.comp);
  }
  struct Sizes {
    long J, S, K, units, cells, tuples;
  };
  Sizes sizes() const {
    const rlpsy::Data& d = model.data();
    return {d.J, d.S, d.K, d.n_units(), d.n_cells(),
            static_cast<long>(d.b_n.size())};
  }
  // Newton iterations in all and participants converged
  static void summary(const rlpsy::EStepResult& r, long& newton, long& converged) {
    newton = converged = 0;
    for (size_t j = 0; j < r.z.size(); ++j) {
      newton += r.iter[j];
      converged += r.status[j] == rlpsy::kConverged;
    }
  }
};

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}
bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool same(const rlpsy::EStepResult& a, const rlpsy::EStepResult& b) {
  return same_bits(a.z, b.z) && same_bits(a.se, b.se) && same_bits(a.loglik, b.loglik) &&
         a.iter == b.iter && a.status == b.status;
}
bool same(const ObjResult& a, const ObjResult& b) {
  const rlpsy::Components &x = a.comp, &y = b.comp;
  return same_bits(a.value, b.value) && same_bits(a.grad, b.grad) &&
         same_bits(x.behaviour, y.behaviour) && same_bits(x.bellman, y.bellman) &&
         same_bits(x.cql, y.cql) && same_bits(x.reward_l2, y.reward_l2) &&
         same_bits(x.total, y.total);
}

rlpsy::Data compress_problem(const Problem& p) {
  rlpsy::RawDecisions raw;
  raw.n_participants = p.J;
  raw.n_states = p.S;
  raw.n_actions = p.K;
  raw.offsets = p.offsets.data();
  raw.state = p.state.data();
  raw.action = p.action.data();
  raw.next_state = p.next_state.data();
  raw.done = p.done.data();
  raw.reward = p.reward.data();
  raw.available = p.available.data();
  return rlpsy::compress(raw);
}

// ---------------------------------------------------------------------------

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The hardware's own ceiling: T threads each run the same fixed loop of
// exp() and log() on private data (nothing shared, no memory traffic), and
// the speedup is T times the 1-thread time over the T-thread time. Below T
// when the cores slow down as more of them are busy (turbo, shared power).
double independent_seconds(unsigned T, bool pin) {
  std::vector<double> sink(T * 8, 0.0);  // one cache line per thread
  auto loop = [&](unsigned t) {
    double x = 0.5 + t * 1e-3, acc = 0.0;
    for (int i = 0; i < 20000000; ++i) {
      acc += std::exp(-x) + std::log(x);
      x += 1e-9;
    }
    sink[t * 8] = acc;
  };
  const double s = now();
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < T; ++t)
    pool.emplace_back([&, t] {
      if (pin) PoolRunner::pin_to(t);
      loop(t);
    });
  loop(0);
  for (auto& th : pool) th.join();
  volatile double keep = std::accumulate(sink.begin(), sink.end(), 0.0);
  (void)keep;
  return now() - s;
}

double median(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  const size_t n = x.size();
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

std::string proc_line(const char* file, const char* key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, std::strlen(key), key) == 0) {
      auto c = line.find(':');
      std::string v = c == std::string::npos ? line : line.substr(c + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "unknown";
}

// Distinct (physical id, core id) pairs in /proc/cpuinfo: the physical
// cores behind the hardware threads (0 when the file does not say).
int physical_cores() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, phys = "0";
  std::vector<std::string> seen;
  while (std::getline(in, line)) {
    const auto c = line.find(':');
    if (c == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", c - 1) + 1);
    const std::string val = c + 2 <= line.size() ? line.substr(c + 2) : "";
    if (key == "physical id") phys = val;
    if (key == "core id") {
      const std::string id = phys + ":" + val;
      if (std::find(seen.begin(), seen.end(), id) == seen.end()) seen.push_back(id);
    }
  }
  return static_cast<int>(seen.size());
}

double peak_rss_mb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;  // kB -> MB
}

double ram_gb() {
  return std::atof(proc_line("/proc/meminfo", "MemTotal").c_str()) / 1048576.0;  // kB -> GB
}

// CPU seconds spent by the whole machine (non-idle, from /proc/stat) and by
// this process; their difference over a wall-clock interval is the number
// of cores other processes kept busy (the machine may be shared).
struct CpuSnapshot {
  double wall, machine, self;
};
CpuSnapshot cpu_snapshot() {
  CpuSnapshot c{now(), -1.0, 0.0};
  std::ifstream in("/proc/stat");
  std::string cpu;
  double v[8] = {0};
  if (in >> cpu && cpu == "cpu") {
    for (double& x : v) in >> x;
    // user nice system idle iowait irq softirq steal: busy = all but idle, iowait
    c.machine = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / sysconf(_SC_CLK_TCK);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  c.self = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  return c;
}
// cores kept busy by other processes between a and b (negative: unknown)
double other_cores(const CpuSnapshot& a, const CpuSnapshot& b) {
  if (a.machine < 0 || b.machine < 0) return -1.0;
  return std::max(0.0, (b.machine - a.machine) - (b.self - a.self)) / (b.wall - a.wall);
}

std::string fixed2(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

std::string with_commas(long v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.pin && !o.spawn) PoolRunner::pin_to(0);
  double t0 = now();
  Problem prob = simulate(o);
  const double t_sim = now() - t0;
  t0 = now();
  Core core(compress_problem(prob));
  const double t_compress = now() - t0;
  core.theta = start_q(prob);
  const long N = prob.state.size();
  {  // the raw decisions are no longer needed: free them
    Problem empty;
    std::swap(prob, empty);
  }
  const Core::Sizes d = core.sizes();

  const unsigned T = o.threads_max;
  std::vector<std::vector<double>> te(T), to(T), ti(T);
  rlpsy::EStepResult e0;  // the 1-thread results every run is compared with
  ObjResult o0;
  std::vector<bool> same_e(T, true), same_o(T, true);
  const std::vector<double> z0(d.J, 0.0);

  // warm-up and reference results, then repeats with the thread counts
  // interleaved so that a change in the machine's load hits all alike
  std::vector<std::unique_ptr<rlpsy::Runner>> runners;
  for (unsigned k = 1; k <= T; ++k) {
    if (o.spawn) runners.emplace_back(new SpawnRunner(k));
    else runners.emplace_back(new PoolRunner(k, o.pin));
  }
  e0 = core.estep(z0, *runners[0]);
  core.set_beta(e0.z);
  core.objective(*runners[0], o0);
  const CpuSnapshot c0 = cpu_snapshot();
  for (int r = 0; r < o.reps; ++r)
    for (unsigned k = 0; k < T; ++k) {
      const rlpsy::Runner& run = *runners[k];
      double s = now();
      rlpsy::EStepResult e = core.estep(z0, run);
      te[k].push_back(now() - s);
      same_e[k] = same_e[k] && same(e, e0);
      ObjResult ob;
      s = now();
      core.objective(run, ob);
      to[k].push_back(now() - s);
      same_o[k] = same_o[k] && same(ob, o0);
      ti[k].push_back(independent_seconds(k + 1, o.pin && !o.spawn));
    }

  const CpuSnapshot c1 = cpu_snapshot();
  const double others = other_cores(c0, c1);
  long newton, converged;
  Core::summary(e0, newton, converged);

  std::printf("# rlpsy standalone driver: %s decisions\n\n", with_commas(N).c_str());
  std::printf("Machine: %s; %u hardware threads (std::thread::hardware_concurrency) "
              "on %d physical cores (/proc/cpuinfo); "
              "%.1f GB RAM; compiler: g++ %s (-O2, static); load average at start %s. "
              "Runner: %s.\n\n",
              proc_line("/proc/cpuinfo", "model name").c_str(),
              std::thread::hardware_concurrency(), physical_cores(),
              ram_gb(), __VERSION__,
              [] {
                std::ifstream in("/proc/loadavg");
                std::string a, b, c;
                in >> a >> b >> c;
                return a + " " + b + " " + c;
              }().c_str(),
              o.spawn ? "spawn (threads started per call, equal contiguous chunks)"
              : o.pin ? "pool (persistent std::threads, dynamic pieces), thread i pinned to CPU i"
                      : "pool (persistent std::threads, dynamic pieces)");
  std::printf("Problem: %s decisions, %s participants, %d states x %d actions "
              "(%d-%d available), seed %llu; %s units (participant, state), "
              "%s cells, %s Bellman tuples. Simulated in %.2f s, compressed in %.2f s; "
              "peak resident memory %.0f MB (the raw decisions alone: %.0f MB).\n\n",
              with_commas(N).c_str(), with_commas(d.J).c_str(), static_cast<int>(d.S), static_cast<int>(d.K),
              o.min_actions, o.actions, o.seed, with_commas(d.units).c_str(),
              with_commas(d.cells).c_str(),
              with_commas(d.tuples).c_str(), t_sim,
              t_compress, peak_rss_mb(),
              N * (4.0 * sizeof(int) + sizeof(double)) / 1048576.0);
  std::printf("E-step: all participants from z = 0 under the fit's starting Q, "
              "prior N(0, 1) (advantage + rlpsy::estep); %.2f Newton iterations per "
              "participant, %s of %s converged. Objective + gradient: "
              "Model::value_grad at that Q and the E-step's z. Medians of %d repeats, "
              "thread counts interleaved, after a 1-thread warm-up call (the reference results); "
              "other processes "
              "kept %s cores busy during the timings (from /proc/stat; the table is "
              "only trustworthy when this is near 0).\n\n",
              static_cast<double>(newton) / d.J, with_commas(converged).c_str(),
              with_commas(d.J).c_str(), o.reps,
              others < 0 ? "an unknown number of" : fixed2(others).c_str());
  std::printf("| threads | E-step ms | speedup | objective+gradient ms | speedup | "
              "independent work: speedup | identical |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|:---|\n");
  const double e1 = median(te[0]), o1 = median(to[0]), i1 = median(ti[0]);
  bool all_same = true;
  for (unsigned k = 0; k < T; ++k) {
    const double ek = median(te[k]), ok = median(to[k]);
    const bool s = same_e[k] && same_o[k];
    all_same = all_same && s;
    std::printf("| %u | %.1f | %.2f | %.1f | %.2f | %.2f | %s |\n", k + 1, 1e3 * ek, e1 / ek,
                1e3 * ok, o1 / ok, (k + 1) * i1 / median(ti[k]), s ? "yes" : "no");
  }
  std::printf("\n`independent work`: each of T threads runs the same fixed loop of "
              "exp() and log() on private data; T x the 1-thread time over the "
              "T-thread time. It is the machine's ceiling for a perfectly parallel "
              "computation (below T when busy cores run slower).\n");
  std::printf("\n`identical`: E-step z, se, loglik, iterations and status, and the "
              "objective's value, components and gradient are bit-for-bit equal to the "
              "1-thread results in every repeat.\n");
  return all_same ? 0 : 1;
}
