// Coloured input (--input ar1:A): its data bit for bit against NumPy, the engine on it, and LMS's theory for it.
#include "core/errors.hpp"
#include "curves.hpp"
#include "ensemble/ensemble.hpp"
#include "ensemble/theory.hpp"
#include "lms/family.hpp"
#include "lms/scenario.hpp"
#include "philox_problem.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <vector>

using namespace lmsref;
using namespace lmsref::test;

namespace {

Scenario coloured(std::uint32_t seed, std::int64_t N, std::vector<double> wo, double sigmav2, double A) {
    Scenario s;
    s.seed = seed;
    s.samples = N;
    s.wo = std::move(wo);
    s.noise_variance = sigmav2;
    s.input_ar1 = A;
    return s;
}

/// max |a - b| / max(1e-300, |b|) over the values both have.
double largest_relative_gap(const std::vector<double>& a, const std::vector<double>& b) {
    double gap = 0.0;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        gap = std::max(gap, std::abs(a[i] - b[i]) / std::max(1e-300, std::abs(b[i])));
    return gap;
}

/// The engine's curves rebuilt from single runs of `id` on generate_data per seed (curves.hpp), the deviation from
/// the walk's wo(n) zero-padded to M, or from the Wiener solution (wiener_solution) without a walk.
Curves single_runs(const Scenario& s, std::int64_t R, FamilyId id) {
    const auto N = static_cast<std::size_t>(s.samples), M = static_cast<std::size_t>(s.taps);
    const std::size_t L = s.wo.size();
    const std::vector<double> wiener = wiener_solution(s);
    return direct_curves(N, M, R, [&](std::int64_t r) {
        Scenario sr = s;
        sr.seed = s.seed + static_cast<std::uint32_t>(r);
        const Data data = generate_data(sr);
        SingleRun run{member_of(id).run(data.x, data.d, s.step_size, M, FamilyOptions{}), wiener};
        if (!data.wo_path.empty()) {
            run.target.assign((N + 1) * M, 0.0);
            for (std::size_t n = 0; n <= N; ++n)
                for (std::size_t k = 0; k < std::min(L, M); ++k) run.target[n * M + k] = data.wo_path[n * L + k];
        }
        return run;
    });
}

EnsembleOptions options_for(const Scenario& s, std::int64_t R, FamilyId id) {
    EnsembleOptions o;
    o.scenario = s;
    o.realizations = R;
    o.threads = 2;
    o.algorithm = id;
    return o;
}

} // namespace

TEST_CASE("coloured input: the data are NumPy's ar1_input, bit for bit", "[coloured]") {
    // scripts/make_reference.py's coloured_data with the parameters of manifest.json's "input" cases.
    const struct {
        const char* folder;
        Scenario scenario;
    } cases[] = {{"input/ar1_0.5", coloured(0, 500, {0.1, 0.2, 0.3}, 0.01, 0.5)},
                 {"input/ar1_0.9", coloured(7, 300, {0.1, 0.2, 0.3, 0.4, 0.5}, 0.01, 0.9)},
                 {"input/ar1_-0.7", coloured(4294967295U, 64, {0.5, -0.25}, 0.1, -0.7)}};
    for (const auto& c : cases) {
        CAPTURE(c.folder);
        const Data data = generate_data(c.scenario);
        CHECK(same_bits(data.x, read_signal(reference_path(std::string(c.folder) + "/x.npy"))));
        CHECK(same_bits(data.d, read_signal(reference_path(std::string(c.folder) + "/d.npy"))));
    }
    Scenario white = cases[0].scenario;
    white.input_ar1.reset();
    CHECK_FALSE(same_bits(generate_data(white).x, generate_data(cases[0].scenario).x));
}

TEST_CASE("coloured input: --input's text", "[coloured]") {
    CHECK_FALSE(parse_input("white").has_value());
    CHECK(parse_input("ar1:0.9").value() == 0.9);
    CHECK(parse_input("ar1:-0.5").value() == -0.5);
    for (const char* bad : {"ar1:1", "ar1:-1", "ar1:2", "ar1:", "ar1:x", "pink", "ar1:nan"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_input(bad), InputError);
    }
}

TEST_CASE("coloured input: the engine's realizations are the single runs on the coloured data", "[coloured]") {
    // lms and nlms through the engine on numpy data, against single runs on generate_data per seed: the bits of each
    // realization, the MSD measured from the Wiener solution (M = 3 < len(wo) = 4). Philox data are coloured too:
    // realization 0's x differs from white philox's after sample 0.
    Scenario s = coloured(11, 40, {0.1, 0.2, 0.3, 0.4}, 0.01, 0.8);
    s.taps = 3;
    s.step_size = 0.05;
    const std::int64_t R = 9;
    for (FamilyId id : {FamilyId::lms, FamilyId::nlms}) {
        EnsembleOptions o = options_for(s, R, id);
        const EnsembleResult ensemble = run_ensemble(o);
        const Curves direct = single_runs(s, R, id);
        CAPTURE(static_cast<int>(id));
        CHECK(same_bits(ensemble.mse, direct.mse));
        CHECK(same_bits(ensemble.msd, direct.msd));
        CHECK(same_bits(ensemble.meanw, direct.meanw));
        o.rng = Rng::philox;
        const EnsembleResult philox = run_ensemble(o);
        o.scenario.input_ar1.reset();
        const EnsembleResult white = run_ensemble(o);
        CHECK(philox.mse[0] == white.mse[0]);
        CHECK(philox.mse[5] != white.mse[5]);
    }
}

TEST_CASE("coloured input: philox's realizations are single runs on philox::signals' coloured data", "[coloured]") {
    // The engine on coloured philox data (whole groups of four through the vector signal makers, the last realization
    // of R = 9 through the scalar one) against single runs on philox::signals with the AR(1) filter, the MSD from the
    // Wiener solution: bit for bit, K = M = 3 and K = 4 > M.
    for (const std::vector<double>& wo :
         {std::vector<double>{0.1, 0.2, 0.3}, std::vector<double>{0.1, 0.2, 0.3, 0.4}}) {
        Scenario s = coloured(5, 50, wo, 0.01, 0.7);
        s.step_size = 0.05;
        const std::int64_t R = 9;
        std::vector<double> wo_K, wo_M;
        philox::Problem p = philox_problem(s, wo_K, wo_M);
        p.coloured = true;
        p.ar1 = 0.7;
        p.ar1_gain = std::sqrt(1.0 - 0.7 * 0.7);
        const auto N = static_cast<std::size_t>(s.samples), M = static_cast<std::size_t>(s.taps);
        const std::vector<double> wiener = wiener_solution(s);
        for (FamilyId id : {FamilyId::lms, FamilyId::nlms, FamilyId::adam}) {
            EnsembleOptions o = options_for(s, R, id);
            o.rng = Rng::philox;
            const EnsembleResult ensemble = run_ensemble(o);
            std::vector<double> x(N), d(N), hist(static_cast<std::size_t>(p.history));
            const Curves direct = direct_curves(N, M, R, [&](std::int64_t r) {
                philox::signals(p, static_cast<std::uint64_t>(r), hist.data(), x.data(), d.data());
                return SingleRun{member_of(id).run(x, d, s.step_size, M, FamilyOptions{}), wiener};
            });
            CAPTURE(wo.size(), static_cast<int>(id));
            CHECK(same_bits(ensemble.mse, direct.mse));
            CHECK(same_bits(ensemble.msd, direct.msd));
            CHECK(same_bits(ensemble.meanw, direct.meanw));
        }
    }
}

TEST_CASE("coloured input: the theory at A = 0 is the white-input theory", "[coloured]") {
    // R = I: the general recursion (full matrices in the pre-windowed start, then R's modes) must give the white
    // recursion's per-tap numbers, up to rounding (1e-12 relative), for M < len(wo), M > len(wo) and a random start.
    for (const auto& [M, wo, variance] :
         {std::tuple<std::int64_t, std::vector<double>, double>{3, {0.1, 0.2, 0.3, 0.4, -0.3}, 0.0},
          {6, {0.5, -0.2, 0.1}, 0.0},
          {4, {0.3, 0.2, 0.1, 0.05}, 1.0 / 12}}) {
        Scenario white;
        white.taps = M;
        white.wo = wo;
        white.samples = 300;
        white.step_size = 0.03;
        Scenario zero = white;
        zero.input_ar1 = 0.0;
        const TheoryPrediction a = predict(white, 1.0, StartModel::prewindowed, variance);
        const TheoryPrediction b = predict(zero, 1.0, StartModel::prewindowed, variance);
        CAPTURE(M, wo.size(), variance);
        REQUIRE(b.coloured);
        CHECK(largest_relative_gap(b.mse_curve, a.mse_curve) < 1e-12);
        CHECK(largest_relative_gap(b.msd_curve, a.msd_curve) < 1e-12);
        CHECK(std::abs(b.mse / a.mse - 1) < 1e-12);
        CHECK(std::abs(b.msd / a.msd - 1) < 1e-12);
        CHECK(std::abs(b.mean_square_bound / a.mean_square_bound - 1) < 1e-12);
        const TheoryPrediction s = predict(white, 1.0, StartModel::stationary, variance);
        const TheoryPrediction t = predict(zero, 1.0, StartModel::stationary, variance);
        CHECK(largest_relative_gap(t.mse_curve, s.mse_curve) < 1e-12);
    }
}

TEST_CASE("coloured input: the Wiener solution and J_min with fewer taps than wo", "[coloured]") {
    // AR(1) with A = 0.5, wo of 3 taps seen by 2: w_o = R^-1 p and J_min = E d^2 - p.w_o, by hand from r(k) = A^k
    // (2 x 2: R = [[1, A], [A, 1]], p_i = sum_k wo_k A^|i - k|).
    Scenario s = coloured(0, 10, {0.3, 0.2, 0.1}, 0.01, 0.5);
    s.taps = 2;
    const InputStatistics stats = input_statistics(s);
    const double A = 0.5, p0 = 0.3 + 0.2 * A + 0.1 * A * A, p1 = 0.3 * A + 0.2 + 0.1 * A;
    const double det = 1 - A * A, w0 = (p0 - A * p1) / det, w1 = (p1 - A * p0) / det;
    const double d2 = 0.01 + 0.09 + 0.04 + 0.01 + 2 * (0.3 * 0.2 * A + 0.2 * 0.1 * A + 0.3 * 0.1 * A * A);
    CHECK(stats.wiener[0] == Approx(w0).epsilon(1e-14));
    CHECK(stats.wiener[1] == Approx(w1).epsilon(1e-14));
    CHECK(stats.j_min == Approx(d2 - p0 * w0 - p1 * w1).epsilon(1e-13));
    CHECK(stats.lambda_min == Approx(1 - A).epsilon(1e-14));
    CHECK(stats.lambda_max == Approx(1 + A).epsilon(1e-14));
    CHECK(wiener_solution(s) == stats.wiener);
}

TEST_CASE("coloured input: LMS's steady state against the simulation, A = 0.5 and 0.9", "[coloured]") {
    // R = 2e4 realizations on philox data, N long enough for the slowest mode (eta lambda_min N >= 7). Allowed: 4
    // standard errors of the simulated window mean plus 0.3 % of the MSE, the independence assumption's bias at these
    // small steps (measured: -0.3 and +0.7 standard errors).
    for (const auto& [A, eta, N] : {std::tuple<double, double, std::int64_t>{0.5, 0.05, 3000}, {0.9, 0.02, 5000}}) {
        EnsembleOptions o;
        o.scenario = coloured(0, N, {0.1, 0.2, 0.3}, 0.01, A);
        o.scenario.step_size = eta;
        o.realizations = 20000;
        o.threads = 2;
        o.rng = Rng::philox;
        const EnsembleResult simulated = run_ensemble(o);
        const TheoryPrediction theory = predict(o.scenario, 1.0);
        const SteadyStateComparison c = compare_steady_state(simulated, theory);
        CAPTURE(A, eta, c.mse, c.predicted_window_mse, c.mse_standard_error);
        CHECK(std::abs(c.mse - c.predicted_window_mse) < 4 * c.mse_standard_error + 0.003 * c.predicted_window_mse);
        CHECK(std::abs(c.predicted_window_mse / theory.mse - 1) < 1e-3); // converged: the window is the steady state
    }
}

TEST_CASE("coloured input: leaky LMS's theory at A = 0 is the white leaky recursion", "[coloured]") {
    // The modal recursion with the leak against theory.cpp's per-tap one (R = I): 1e-12 relative, rounding alone.
    for (const auto& [M, wo] :
         {std::pair<std::int64_t, std::vector<double>>{3, {0.1, 0.2, 0.3, 0.4}}, {5, {0.5, -0.2, 0.1}}}) {
        Scenario white;
        white.taps = M;
        white.wo = wo;
        white.samples = 400;
        white.step_size = 0.05;
        Scenario zero = white;
        zero.input_ar1 = 0.0;
        const TheoryPrediction a = predict(white, 1.0, StartModel::prewindowed, 0.0, 0.2);
        const TheoryPrediction b = predict(zero, 1.0, StartModel::prewindowed, 0.0, 0.2);
        CAPTURE(M);
        REQUIRE(b.coloured);
        CHECK(largest_relative_gap(b.mse_curve, a.mse_curve) < 1e-12);
        CHECK(largest_relative_gap(b.msd_curve, a.msd_curve) < 1e-12);
        CHECK(largest_relative_gap(b.meanw_curve, a.meanw_curve) < 1e-12);
        CHECK(std::abs(b.mse / a.mse - 1) < 1e-12);
        CHECK(std::abs(b.msd / a.msd - 1) < 1e-12);
        CHECK(std::abs(b.mean_square_bound / a.mean_square_bound - 1) < 1e-12);
    }
}

TEST_CASE("coloured input: E[1/||x||^2] by quadrature", "[coloured]") {
    // Equal eigenvalues a: x.x / a is chi-square with M degrees of freedom, E = 1 / (a (M - 2)). 1e-9 relative: the
    // quadrature's error is far below (an analytic integrand, trapezoid rule).
    for (std::size_t M : {3, 4, 8, 32})
        for (double a : {0.5, 1.0, 3.0}) {
            CAPTURE(M, a);
            CHECK(expected_inverse_power(std::vector<double>(M, a)) ==
                  Approx(1.0 / (a * static_cast<double>(M - 2))).epsilon(1e-9));
        }
    CHECK(std::isinf(expected_inverse_power({1.0, 1.0})));
    // Two distinct values, M = 4 with pairs (a, a, b, b): E = log(a / b) / (2 (a - b)), the integral in closed form.
    const double a = 2.0, b = 0.5;
    CHECK(expected_inverse_power({b, b, a, a}) == Approx(std::log(a / b) / (2 * (a - b))).epsilon(1e-9));
}

TEST_CASE("coloured input: the family's theories against the simulation, A = 0.5 and 0.9", "[coloured]") {
    // R = 2e4 realizations on philox data, eta = 0.02, the window mean of the last quarter. Allowed: 4 standard errors
    // plus each theory's own bias, as a share of its predicted EMSE, measured here (A = 0.5, M = 8 | A = 0.9, M = 3):
    //   lms, leaky (exact under the independence assumption): +0.1, -0.1 % | +0.6, +1.0 %: 2 %;
    //   rls, lambda = 0.99 (the window-weight approximation): +1.2 % | +1.6 %: 5 %;
    //   nlms (energy conservation with E[1/||x||^2]), run for ten of its slowest time constants: -3 % | -33 %: 40 %;
    //   sign-error (Gaussian error, small alpha): +12 % | +30 %: 35 %;
    //   momentum, nesterov (LMS at eta / (1 - beta)): -4, -5 % | -10, -8 %: 13 %.
    const std::vector<double> wo8 = {0.1, 0.2, 0.3, -0.2, 0.1, 0.05, 0.3, -0.1};
    const struct {
        double A;
        std::int64_t M, N;
        std::vector<double> wo;
    } cases[] = {{0.5, 8, 3000, wo8}, {0.9, 3, 5000, {0.1, 0.2, 0.3}}};
    const struct {
        FamilyId member;
        double bias;
    } members[] = {{FamilyId::lms, 0.02},     {FamilyId::leaky, 0.02},      {FamilyId::rls, 0.05},
                   {FamilyId::nlms, 0.40},    {FamilyId::sign_error, 0.35}, {FamilyId::momentum, 0.13},
                   {FamilyId::nesterov, 0.13}};
    FamilyOptions settings;
    settings.lambda = 0.99; // an EMSE of J_min M (1 - lambda) / (1 + lambda), well above the standard error
    for (const auto& c : cases)
        for (const auto& m : members) {
            EnsembleOptions o;
            o.scenario = coloured(0, c.N, c.wo, 0.01, c.A);
            o.scenario.taps = c.M;
            o.scenario.step_size = 0.02;
            if (m.member == FamilyId::nlms) { // its step is eta / ||x||^2: the slowest mode's time constant is
                const InputStatistics stats = input_statistics(o.scenario); // tr R / (eta lambda_min)
                o.scenario.samples = static_cast<std::int64_t>(10 * stats.trace / (0.02 * stats.lambda_min));
            }
            o.realizations = 20000;
            o.threads = 2;
            o.rng = Rng::philox;
            o.algorithm = m.member;
            o.family = settings;
            const EnsembleResult simulated = run_ensemble(o);
            const MemberTheory theory = predict_member(o.scenario, 1.0, m.member, settings);
            REQUIRE(theory.known);
            const SteadyStateComparison s = compare_steady_state(simulated, theory.prediction);
            const double emse = s.predicted_window_mse - theory.prediction.j_min;
            CAPTURE(c.A, member_of(m.member).name, s.mse, s.predicted_window_mse, s.mse_standard_error, emse);
            CHECK(std::abs(s.mse - s.predicted_window_mse) < 4 * s.mse_standard_error + m.bias * emse);
        }
}

namespace {

/// The spectral radius of the modal recursion's linear part, T = diag(keep_i) + eta^2 lambda lambda^T (a positive
/// matrix: its Perron root by power iteration), built from R's eigenvalues alone.
double modal_spectral_radius(const std::vector<double>& lambda, double eta, double gamma) {
    const std::size_t M = lambda.size();
    const double b = 1.0 - eta * gamma;
    std::vector<double> v(M, 1.0), next(M);
    double radius = 0.0;
    for (int iteration = 0; iteration < 20000; ++iteration) {
        double dot = 0.0, norm = 0.0;
        for (std::size_t j = 0; j < M; ++j) dot += lambda[j] * v[j];
        for (std::size_t i = 0; i < M; ++i) {
            const double keep = b * b - 2.0 * b * eta * lambda[i] + 2.0 * eta * eta * lambda[i] * lambda[i];
            next[i] = keep * v[i] + eta * eta * lambda[i] * dot;
            norm = std::max(norm, next[i]);
        }
        radius = norm / *std::max_element(v.begin(), v.end());
        for (std::size_t i = 0; i < M; ++i) v[i] = next[i] / norm;
    }
    return radius;
}

} // namespace

TEST_CASE("coloured input: the mean-square bound is where the modal recursion stops converging", "[coloured]") {
    // A = 0.9, M = 8 (eigenvalue spread 113): the bound predict reports (bisection on S = 1) against the Perron root
    // of the recursion's own matrix at 0.999 and 1.001 times it; LMS and leaky LMS. The theory's curves then settle
    // below the bound and grow above it.
    for (double gamma : {0.0, 0.05}) {
        Scenario s = coloured(0, 20000, {0.1, 0.2, 0.3, -0.2, 0.1, 0.05, 0.3, -0.1}, 0.01, 0.9);
        s.taps = 8;
        s.step_size = 0.01;
        const TheoryPrediction t = predict(s, 1.0, StartModel::prewindowed, 0.0, gamma);
        const double bound = t.mean_square_bound;
        CAPTURE(gamma, bound);
        CHECK(bound < 1.0 / t.eigenvalues.back());
        CHECK(modal_spectral_radius(t.eigenvalues, 0.999 * bound, gamma) < 1.0);
        CHECK(modal_spectral_radius(t.eigenvalues, 1.001 * bound, gamma) > 1.0);
        s.step_size = 0.9 * bound;
        const TheoryPrediction below = predict(s, 1.0, StartModel::prewindowed, 0.0, gamma);
        CHECK_FALSE(below.past_mean_square_bound);
        CHECK(below.mse_curve.back() == Approx(below.mse).epsilon(1e-6));
        s.step_size = 1.1 * bound;
        const TheoryPrediction above = predict(s, 1.0, StartModel::prewindowed, 0.0, gamma);
        CHECK(above.past_mean_square_bound);
        CHECK(above.mse_curve.back() > 1e6 * above.mse_curve[1000]);
    }
}

// ------------------------------------------------------------------------------------------------ --walk (tracking)

TEST_CASE("walk: the data and the system's path are NumPy's walk_data, bit for bit", "[walk]") {
    // scripts/make_reference.py's walk_data with manifest.json's "walk" cases (N odd in one: the cached normal).
    const struct {
        const char* folder;
        Scenario scenario;
    } cases[] = {{"walk/white",
                  [] {
                      Scenario s = coloured(0, 400, {0.1, 0.2, 0.3}, 0.01, 0.0);
                      s.input_ar1.reset();
                      s.walk = 1e-4;
                      return s;
                  }()},
                 {"walk/ar1_0.5", [] {
                      Scenario s = coloured(3, 301, {0.5, -0.25}, 0.1, 0.5);
                      s.walk = 1e-3;
                      return s;
                  }()}};
    for (const auto& c : cases) {
        CAPTURE(c.folder);
        const Data data = generate_data(c.scenario);
        CHECK(same_bits(data.x, read_signal(reference_path(std::string(c.folder) + "/x.npy"))));
        CHECK(same_bits(data.d, read_signal(reference_path(std::string(c.folder) + "/d.npy"))));
        const Array2D path = reference_array(std::string(c.folder) + "/wo.npy");
        REQUIRE(path.rows == static_cast<std::size_t>(c.scenario.samples) + 1);
        REQUIRE(path.cols == c.scenario.wo.size());
        CHECK(same_bits(data.wo_path, path.values));
    }
}

TEST_CASE("walk: the engine's realizations are single runs, their deviation measured from the moving system",
          "[walk]") {
    // lms and nlms on walk data: the engine's mse, msd and meanw against single runs on generate_data per seed, with
    // ||w(n) - wo(n)||^2 over the path zero-padded to M = 4 > len(wo) = 3.
    Scenario s = coloured(21, 60, {0.1, 0.2, 0.3}, 0.01, 0.0);
    s.input_ar1.reset();
    s.taps = 4;
    s.step_size = 0.05;
    s.walk = 1e-3;
    const std::int64_t R = 7;
    for (FamilyId id : {FamilyId::lms, FamilyId::nlms}) {
        const EnsembleResult ensemble = run_ensemble(options_for(s, R, id));
        const Curves direct = single_runs(s, R, id);
        CAPTURE(static_cast<int>(id));
        CHECK(same_bits(ensemble.mse, direct.mse));
        CHECK(same_bits(ensemble.msd, direct.msd));
        CHECK(same_bits(ensemble.meanw, direct.meanw));
    }
}

TEST_CASE("walk: what the engine refuses", "[walk]") {
    EnsembleOptions o;
    o.scenario.walk = 1e-4;
    o.realizations = 4;
    o.scenario.taps = 2; // len(wo) = 3 > M
    REQUIRE_THROWS_WITH(run_ensemble(o), Catch::Contains("len(wo) <= M"));
    o.scenario.taps = 3;
    o.rng = Rng::philox;
    REQUIRE_THROWS_WITH(run_ensemble(o), Catch::Contains("use --rng numpy"));
    o.rng = Rng::numpy;
    o.scenario.walk = -1;
    REQUIRE_THROWS_AS(run_ensemble(o), InputError);
}

TEST_CASE("walk: LMS's tracking theory against the simulation, white and coloured", "[walk]") {
    // R = 1e4 realizations, N = 3000: the last quarter's mean MSE within 4 standard errors plus 0.3 % of the MSE (the
    // independence assumption's bias at these steps; measured -0.02 % white, -0.03 % at A = 0.5).
    for (const auto& [A, eta] : {std::pair<double, double>{0.0, 0.03}, {0.5, 0.02}}) {
        EnsembleOptions o;
        o.scenario = coloured(0, 3000, {0.1, 0.2, 0.3}, 0.01, A);
        if (A == 0.0) o.scenario.input_ar1.reset();
        o.scenario.step_size = eta;
        o.scenario.walk = 1e-5;
        o.realizations = 10000;
        o.threads = 2;
        const EnsembleResult simulated = run_ensemble(o);
        const TheoryPrediction theory = predict(o.scenario, 1.0);
        const SteadyStateComparison c = compare_steady_state(simulated, theory);
        CAPTURE(A, c.mse, c.predicted_window_mse, c.mse_standard_error);
        CHECK(std::abs(c.mse - c.predicted_window_mse) < 4 * c.mse_standard_error + 0.003 * c.predicted_window_mse);
        // without the walk's term the theory would be far off: the walk is half of this EMSE
        o.scenario.walk = 0.0;
        CHECK(predict(o.scenario, 1.0).emse < 0.7 * theory.emse);
    }
}

TEST_CASE("walk: the optimal step is within 10 % of the simulated minimum", "[walk]") {
    // White input, M = 3, Q = 1e-5: theory's optimum against the minimum of a parabola fitted, in log eta, to the
    // simulated steady-state EMSE at five steps around it (R = 3000, N = 3000 each; each EMSE's standard error is
    // about 1 % of it, and the curve's curvature there makes the fitted minimum good to a few per cent).
    Scenario s = coloured(0, 3000, {0.1, 0.2, 0.3}, 0.01, 0.0);
    s.input_ar1.reset();
    s.walk = 1e-5;
    s.step_size = 0.03;
    const double optimum = predict(s, 1.0).optimal_step;
    REQUIRE(std::isfinite(optimum));
    // The closed form for white input: minimise (J M eta + L Q / eta) / (2 - eta (M + 2)), J = sigmav2.
    const double J = 0.01, Q = 1e-5, M = 3, L = 3;
    const auto closed = [&](double eta) { return (J * M * eta + L * Q / eta) / (2 - eta * (M + 2)); };
    CHECK(closed(optimum) <= closed(optimum * 1.001));
    CHECK(closed(optimum) <= closed(optimum / 1.001));
    std::vector<double> v, y;
    for (double factor : {0.4, 0.63, 1.0, 1.6, 2.5}) {
        EnsembleOptions o;
        o.scenario = s;
        o.scenario.step_size = optimum * factor;
        o.realizations = 3000;
        o.threads = 2;
        const EnsembleResult r = run_ensemble(o);
        v.push_back(std::log(factor));
        y.push_back(std::log(r.steady_mse - J));
    }
    // least-squares parabola y = a v^2 + b v + c
    double S[5] = {}, T[3] = {};
    for (std::size_t i = 0; i < v.size(); ++i) {
        for (int p = 0; p < 5; ++p) S[p] += std::pow(v[i], p);
        for (int p = 0; p < 3; ++p) T[p] += y[i] * std::pow(v[i], p);
    }
    // normal equations [S4 S3 S2; S3 S2 S1; S2 S1 S0] [a b c] = [T2 T1 T0], by Cramer's rule
    const auto det3 = [](double a, double b, double c, double d, double e, double f, double g, double h, double i) {
        return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    };
    const double D = det3(S[4], S[3], S[2], S[3], S[2], S[1], S[2], S[1], S[0]);
    const double a = det3(T[2], S[3], S[2], T[1], S[2], S[1], T[0], S[1], S[0]) / D;
    const double b = det3(S[4], T[2], S[2], S[3], T[1], S[1], S[2], T[0], S[0]) / D;
    REQUIRE(a > 0);
    const double simulated_optimum = optimum * std::exp(-b / (2 * a));
    CAPTURE(optimum, simulated_optimum);
    CHECK(std::abs(simulated_optimum / optimum - 1) < 0.10);
}
