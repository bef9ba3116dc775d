// rlpsy core: parameterisations of the task value function Q_theta and of a
// learned reward r_w, behind one interface each. Plain C++, no R headers.
//
// A Q parameterisation maps theta to the S x K table of values (row-major;
// entries of unavailable actions are never read), takes a gradient with
// respect to that table back to theta, and maps a positive diagonal
// curvature estimate in Q to one in theta (the Gauss-Newton diagonal,
// sum_i (dQ_i / dtheta_p)^2 h_i), which preconditions L-BFGS. Every loop is
// serial and in a fixed order: results never depend on the number of
// threads. The likelihood code (model.h) only sees the table.
//
// A reward parameterisation maps w to one reward per Bellman tuple
// (s, a, s', d) and back.
#ifndef RLPSY_PARAMS_H
#define RLPSY_PARAMS_H

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

namespace rlpsy {

class QModel {
 public:
  virtual ~QModel() = default;
  virtual long n_params() const = 0;
  // Q (S*K, row-major) at theta
  virtual void values(const double* theta, double* Q) const = 0;
  // dtheta = (dQ/dtheta)' dQ, overwriting dtheta
  virtual void backprop(const double* theta, const double* dQ,
                        double* dtheta) const = 0;
  // h_theta[p] = sum_i (dQ_i/dtheta_p)^2 hQ[i]
  virtual void curvature(const double* theta, const double* hQ,
                         double* htheta) const = 0;
  // true when theta is the table itself (the Bellman preconditioner works
  // in the table's coordinates)
  virtual bool is_table() const { return false; }
};

// Q is the table: theta = Q.
class TableQ : public QModel {
 public:
  explicit TableQ(long SK) : SK_(SK) {}
  long n_params() const override { return SK_; }
  void values(const double* theta, double* Q) const override {
    std::copy(theta, theta + SK_, Q);
  }
  void backprop(const double*, const double* dQ, double* dtheta) const override {
    std::copy(dQ, dQ + SK_, dtheta);
  }
  void curvature(const double*, const double* hQ, double* htheta) const override {
    std::copy(hQ, hQ + SK_, htheta);
  }
  bool is_table() const override { return true; }

 private:
  long SK_;
};

// Q = Phi theta with Phi the (S*K) x P feature matrix (row-major; rows of
// pairs that cannot occur are 0).
class LinearQ : public QModel {
 public:
  LinearQ(long SK, int P, std::vector<double> phi)
      : SK_(SK), P_(P), phi_(std::move(phi)) {
    if (static_cast<long>(phi_.size()) != SK_ * P_)
      throw std::invalid_argument("features have the wrong size");
  }
  long n_params() const override { return P_; }
  void values(const double* theta, double* Q) const override {
    for (long i = 0; i < SK_; ++i) {
      const double* f = &phi_[i * P_];
      double q = 0.0;
      for (int p = 0; p < P_; ++p) q += f[p] * theta[p];
      Q[i] = q;
    }
  }
  void backprop(const double*, const double* dQ, double* dtheta) const override {
    std::fill(dtheta, dtheta + P_, 0.0);
    for (long i = 0; i < SK_; ++i) {
      if (dQ[i] == 0.0) continue;
      const double* f = &phi_[i * P_];
      for (int p = 0; p < P_; ++p) dtheta[p] += f[p] * dQ[i];
    }
  }
  void curvature(const double*, const double* hQ, double* htheta) const override {
    std::fill(htheta, htheta + P_, 0.0);
    for (long i = 0; i < SK_; ++i) {
      const double* f = &phi_[i * P_];
      for (int p = 0; p < P_; ++p) htheta[p] += f[p] * f[p] * hQ[i];
    }
  }

 private:
  long SK_;
  int P_;
  std::vector<double> phi_;
};

// One hidden layer: Q(s, a) = b2 + sum_k v_k tanh(b1_k + sum_p W_kp phi_p).
// theta = [W (H x P, row-major), b1 (H), v (H), b2].
class MlpQ : public QModel {
 public:
  MlpQ(long SK, int P, int H, std::vector<double> phi)
      : SK_(SK), P_(P), H_(H), phi_(std::move(phi)) {
    if (static_cast<long>(phi_.size()) != SK_ * P_)
      throw std::invalid_argument("features have the wrong size");
    if (H_ < 1) throw std::invalid_argument("hidden must be at least 1");
  }
  long n_params() const override { return static_cast<long>(H_) * P_ + 2L * H_ + 1; }
  void values(const double* theta, double* Q) const override {
    std::vector<double> h(H_);
    for (long i = 0; i < SK_; ++i) Q[i] = forward(theta, i, h.data());
  }
  void backprop(const double* theta, const double* dQ, double* g) const override {
    // dtheta_p = sum_i dQ_i dQ_i/dtheta_p
    accumulate(theta, dQ, g, [](double d, double w) { return w * d; });
  }
  void curvature(const double* theta, const double* hQ, double* out) const override {
    // h_p = sum_i hQ_i (dQ_i/dtheta_p)^2
    accumulate(theta, hQ, out, [](double d, double w) { return w * d * d; });
  }

 private:
  // out_p = sum_i f(dQ_i/dtheta_p, weight_i) over the rows with a non-zero
  // weight, row by row in order.
  template <class F>
  void accumulate(const double* theta, const double* weight, double* out, F f) const {
    std::fill(out, out + n_params(), 0.0);
    std::vector<double> h(H_);
    const double* v = theta + static_cast<long>(H_) * P_ + H_;
    double* oW = out;
    double* ob1 = out + static_cast<long>(H_) * P_;
    double* ov = ob1 + H_;
    double* ob2 = ov + H_;
    for (long i = 0; i < SK_; ++i) {
      const double w = weight[i];
      if (w == 0.0) continue;
      forward(theta, i, h.data());
      const double* x = &phi_[i * P_];
      *ob2 += f(1.0, w);
      for (int k = 0; k < H_; ++k) {
        ov[k] += f(h[k], w);
        const double dk = v[k] * (1.0 - h[k] * h[k]);  // dQ / d(pre-activation k)
        ob1[k] += f(dk, w);
        for (int p = 0; p < P_; ++p) oW[static_cast<long>(k) * P_ + p] += f(dk * x[p], w);
      }
    }
  }

  // Q of row i; the hidden activations into h
  double forward(const double* theta, long i, double* h) const {
    const double* W = theta;
    const double* b1 = theta + static_cast<long>(H_) * P_;
    const double* v = b1 + H_;
    const double b2 = v[H_];
    const double* f = &phi_[i * P_];
    double q = b2;
    for (int k = 0; k < H_; ++k) {
      double a = b1[k];
      const double* Wk = W + static_cast<long>(k) * P_;
      for (int p = 0; p < P_; ++p) a += Wk[p] * f[p];
      h[k] = std::tanh(a);
      q += v[k] * h[k];
    }
    return q;
  }

  long SK_;
  int P_, H_;
  std::vector<double> phi_;
};

// A learned reward, one value per Bellman tuple.
class RewardModel {
 public:
  virtual ~RewardModel() = default;
  virtual long n_params() const = 0;
  virtual void values(const double* w, double* r) const = 0;
  // gw = (dr/dw)' dr, overwriting gw
  virtual void backprop(const double* w, const double* dr, double* gw) const = 0;
  // h_w[p] = sum_t (dr_t/dw_p)^2 hr[t]
  virtual void curvature(const double* w, const double* hr, double* hw) const = 0;
  // whether w_p is a parameter (entries that are not stay 0 and are not
  // penalised)
  virtual bool free(long p) const { (void)p; return true; }
};

// Tabular: r_t = tanh(w[index_t]), bounded in (-1, 1). index maps each tuple
// to its (s, a) pair (w is S x K) or to its (s, a, s') group.
class TableReward : public RewardModel {
 public:
  TableReward(long n, std::vector<long> index, std::vector<uint8_t> is_free)
      : n_(n), index_(std::move(index)), free_(std::move(is_free)) {}
  long n_params() const override { return n_; }
  void values(const double* w, double* r) const override {
    for (size_t t = 0; t < index_.size(); ++t) r[t] = std::tanh(w[index_[t]]);
  }
  void backprop(const double* w, const double* dr, double* gw) const override {
    std::fill(gw, gw + n_, 0.0);
    for (size_t t = 0; t < index_.size(); ++t) {
      const double r = std::tanh(w[index_[t]]);
      gw[index_[t]] += dr[t] * (1.0 - r * r);
    }
  }
  void curvature(const double* w, const double* hr, double* hw) const override {
    std::fill(hw, hw + n_, 0.0);
    for (size_t t = 0; t < index_.size(); ++t) {
      const double r = std::tanh(w[index_[t]]);
      hw[index_[t]] += (1.0 - r * r) * (1.0 - r * r) * hr[t];
    }
  }
  bool free(long p) const override { return free_.empty() || free_[p]; }

 private:
  long n_;
  std::vector<long> index_;
  std::vector<uint8_t> free_;
};

// Linear in reward features: r_t = sum_p F[t, p] w_p (F row-major, one row
// per Bellman tuple).
class LinearReward : public RewardModel {
 public:
  LinearReward(int P, std::vector<double> F) : P_(P), F_(std::move(F)) {}
  long n_params() const override { return P_; }
  void values(const double* w, double* r) const override {
    const size_t T = F_.size() / P_;
    for (size_t t = 0; t < T; ++t) {
      double s = 0.0;
      for (int p = 0; p < P_; ++p) s += F_[t * P_ + p] * w[p];
      r[t] = s;
    }
  }
  void backprop(const double*, const double* dr, double* gw) const override {
    std::fill(gw, gw + P_, 0.0);
    const size_t T = F_.size() / P_;
    for (size_t t = 0; t < T; ++t)
      for (int p = 0; p < P_; ++p) gw[p] += F_[t * P_ + p] * dr[t];
  }
  void curvature(const double*, const double* hr, double* hw) const override {
    std::fill(hw, hw + P_, 0.0);
    const size_t T = F_.size() / P_;
    for (size_t t = 0; t < T; ++t)
      for (int p = 0; p < P_; ++p) hw[p] += F_[t * P_ + p] * F_[t * P_ + p] * hr[t];
  }

 private:
  int P_;
  std::vector<double> F_;
};

}  // namespace rlpsy

#endif
