// Tests of the C++ layer include/hamdeq/hamdeq.hpp: every class, the exceptions (status,
// name, message), the size checks (they throw before the library is called), callbacks
// whose exceptions come back out of the C call, RAII (run under ASan/LSan for leaks:
// meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false), and fixed
// points checked against a direct reimplementation of the even-odd operator.
#include <hamdeq/hamdeq.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

int g_failures = 0;
int g_checks = 0;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        ++g_checks;                                                                    \
        if (!(cond)) {                                                                 \
            ++g_failures;                                                              \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                              \
    } while (0)

// Runs `expr`, which must throw hamdeq::error with status `st`; binds it to `err`.
#define CHECK_THROWS_STATUS(expr, st, err)                                             \
    hamdeq::error err(HAM_OK, "none");                                                 \
    do {                                                                               \
        ++g_checks;                                                                    \
        bool thrown_ = false;                                                          \
        try {                                                                          \
            (void)(expr);                                                              \
        } catch (const hamdeq::error &e_) {                                            \
            thrown_ = true;                                                            \
            err = e_;                                                                  \
        }                                                                              \
        if (!thrown_ || err.status() != (st)) {                                        \
            ++g_failures;                                                              \
            std::fprintf(stderr, "%s:%d: %s: expected %s, got %s (%s)\n", __FILE__,     \
                         __LINE__, #expr, hamdeq::status_name(st),                     \
                         thrown_ ? err.name().c_str() : "no exception",                \
                         thrown_ ? err.what() : "");                                   \
        }                                                                              \
    } while (0)

bool starts_with(const std::string &s, const std::string &p)
{
    return s.compare(0, p.size(), p) == 0;
}

std::vector<float> lcg_floats(std::size_t n, uint32_t seed)
{
    std::vector<float> v(n);
    for (auto &f : v) {
        seed = seed * 1664525u + 1013904223u;
        f = static_cast<float>(seed >> 8) / 16777216.0f;
    }
    return v;
}

// A failure of the C library whose message the size checks must leave in place.
std::string sentinel_failure()
{
    const int rc = ham_model_set_lagrangian(nullptr, 0, 0, 0);
    (void)rc;
    return ham_last_error();
}

double shifted_sigmoid(double s) { return 1.0 / (1.0 + std::exp(-4.0 * (s - 0.5))); }

// The even-odd operator of a clamped 3-layer shifted-sigmoid model, in double precision,
// from docs/math.md section 2: h = W0' g(x) + W1 g(s) + b1; G(s) = W1' g(h) + b2.
std::vector<double> direct_G(const hamdeq::Model &m, const std::vector<float> &x,
                             const std::vector<float> &s, int32_t batch)
{
    const int32_t n0 = m.layer_size(0), n1 = m.layer_size(1), n2 = m.layer_size(2);
    const std::vector<float> w0 = m.weights(0), w1 = m.weights(1), b1 = m.bias(1),
                             b2 = m.bias(2);
    std::vector<double> out(static_cast<std::size_t>(batch) * static_cast<std::size_t>(n2));
    for (int32_t k = 0; k < batch; k++) {
        std::vector<double> gh(static_cast<std::size_t>(n1));
        for (int32_t j = 0; j < n1; j++) {
            double h = b1[static_cast<std::size_t>(j)];
            for (int32_t i = 0; i < n0; i++)
                h += static_cast<double>(w0[static_cast<std::size_t>(i * n1 + j)]) *
                     shifted_sigmoid(x[static_cast<std::size_t>(k * n0 + i)]);
            for (int32_t o = 0; o < n2; o++)
                h += static_cast<double>(w1[static_cast<std::size_t>(j * n2 + o)]) *
                     shifted_sigmoid(s[static_cast<std::size_t>(k * n2 + o)]);
            gh[static_cast<std::size_t>(j)] = shifted_sigmoid(h);
        }
        for (int32_t o = 0; o < n2; o++) {
            double g = b2[static_cast<std::size_t>(o)];
            for (int32_t j = 0; j < n1; j++)
                g += static_cast<double>(w1[static_cast<std::size_t>(j * n2 + o)]) *
                     gh[static_cast<std::size_t>(j)];
            out[static_cast<std::size_t>(k * n2 + o)] = g;
        }
    }
    return out;
}

hamdeq::Model small_model()
{
    hamdeq::Model m({6, 5, 3}, hamdeq::Input::clamped);
    m.init_xavier(7);
    m.set_bias(1, std::vector<float>{0.1f, -0.2f, 0.3f, 0.0f, 0.05f});
    m.set_bias(2, std::array<float, 3>{{0.2f, -0.1f, 0.4f}});
    return m;
}

void test_errors()
{
    // A C failure: the status, its name, and ham_last_error() of that very call.
    ham_model_t *raw = nullptr;
    const int32_t one[1] = {4};
    const int rc = ham_model_new(&raw, 1, one, HAM_MODEL_CLAMPED_INPUT);
    const std::string c_message = ham_last_error();
    CHECK(rc == HAM_ERR_INVALID && raw == nullptr);
    CHECK_THROWS_STATUS(hamdeq::Model(one, hamdeq::Input::clamped), hamdeq::Status::invalid, e1);
    CHECK(e1.code() == HAM_ERR_INVALID);
    CHECK(e1.name() == "HAM_ERR_INVALID");
    CHECK(e1.message() == c_message);
    CHECK(!c_message.empty());
    CHECK(std::string(e1.what()) == "HAM_ERR_INVALID: " + c_message);

    CHECK_THROWS_STATUS(hamdeq::Model::load("/nonexistent/dir/model.ham"), hamdeq::Status::io, e2);
    CHECK(e2.message().find("/nonexistent/dir/model.ham") != std::string::npos);
    CHECK_THROWS_STATUS(hamdeq::lagrangian_from_name("no-such"),
                        hamdeq::Status::unknown_lagrangian, e3);
    CHECK_THROWS_STATUS(hamdeq::option_info(static_cast<hamdeq::Option>(999)),
                        hamdeq::Status::unknown_option, e4);
    const unsigned char junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK_THROWS_STATUS(hamdeq::Model::load_buffer(junk), hamdeq::Status::format, e5);
    CHECK(starts_with(e5.message(), "model buffer: "));

    // An empty (moved-from) handle reaches C as NULL.
    hamdeq::Model m = small_model();
    hamdeq::Model moved = std::move(m);
    CHECK(!m && moved);
    CHECK_THROWS_STATUS(m.init_xavier(1), hamdeq::Status::null, e6);

    // Free functions.
    CHECK(std::string(hamdeq::strerror(hamdeq::Status::ok)) == ham_strerror(0));
    CHECK(std::string(hamdeq::status_name(-12)) == "HAM_ERR_CANCELLED");
    CHECK(hamdeq::version() == HAM_VERSION_NUMBER);
    CHECK(hamdeq::version_string() == HAM_VERSION_STRING);
    CHECK(hamdeq::lagrangian_name(hamdeq::Lagrangian::tanh) == "tanh");
    CHECK(hamdeq::lagrangian_from_name("softmax") == hamdeq::Lagrangian::softmax);
    CHECK(hamdeq::solver_kind_from_name(hamdeq::solver_kind_name(hamdeq::SolverKind::broyden)) ==
          hamdeq::SolverKind::broyden);
    CHECK(hamdeq::operator_from_name(hamdeq::operator_name(hamdeq::Operator::even_odd)) ==
          hamdeq::Operator::even_odd);
    CHECK(hamdeq::lagrangian_name(static_cast<hamdeq::Lagrangian>(77)).empty());
    CHECK(hamdeq::option_info(hamdeq::Option::tol).default_value == 1e-4);
    CHECK(hamdeq::option_info(hamdeq::TrainOption::backward_iters).default_value == 8);
    CHECK(hamdeq::last_error() == ham_last_error());
}

void test_size_checks()
{
    hamdeq::Model m = small_model();
    const std::vector<float> x = lcg_floats(2 * 6, 1);
    std::vector<float> s(2 * 3, 0.25f), out(5, -7.0f); // out one row short

    const std::string before = sentinel_failure();
    CHECK(!before.empty());
    CHECK_THROWS_STATUS(m.apply(out, hamdeq::Operator::even_odd, x, s),
                        hamdeq::Status::dimension, e1);
    CHECK(starts_with(e1.message(), "hamdeq.hpp: Model::apply"));
    CHECK(ham_last_error() == before); // the library was not called
    for (float f : out)
        CHECK(f == -7.0f);

    std::vector<float> s_bad(7);
    CHECK_THROWS_STATUS(m.apply(hamdeq::Operator::even_odd, x, s_bad), hamdeq::Status::dimension,
                        e2);
    std::vector<float> x_bad(11);
    CHECK_THROWS_STATUS(m.apply(hamdeq::Operator::even_odd, x_bad, s), hamdeq::Status::dimension,
                        e3);
    CHECK_THROWS_STATUS(m.set_weights(0, std::vector<float>(29)), hamdeq::Status::dimension, e4);
    CHECK_THROWS_STATUS(m.set_bias(1, std::vector<float>(4)), hamdeq::Status::dimension, e5);
    std::vector<double> e_short(1);
    std::vector<float> full(2 * 8);
    CHECK_THROWS_STATUS(m.energy(e_short, x, full), hamdeq::Status::dimension, e6);
    CHECK(ham_last_error() == before);

    hamdeq::Solver sv(m, hamdeq::Operator::even_odd, hamdeq::SolverKind::anderson);
    std::vector<float> state(4); // not a multiple of 3
    CHECK_THROWS_STATUS(sv.solve(state, x), hamdeq::Status::dimension, e7);
    std::vector<float> state2(2 * 3);
    CHECK_THROWS_STATUS(sv.solve(state2, {x.data(), 6}), hamdeq::Status::dimension, e8);
    CHECK(ham_last_error() == before);

    // A free-input model takes no x.
    hamdeq::Model fm({3, 2}, hamdeq::Input::free);
    std::vector<float> fs(5);
    CHECK_THROWS_STATUS(fm.apply(hamdeq::Operator::sync, x, fs), hamdeq::Status::dimension, e9);
    CHECK(ham_last_error() == before);

    // Out-of-range layers are the library's to report.
    CHECK_THROWS_STATUS(m.set_bias(9, std::vector<float>(1)), hamdeq::Status::invalid, e10);
    CHECK(ham_last_error() != before);
}

void test_model()
{
    hamdeq::Model m = small_model();
    CHECK(m.n_layers() == 3);
    CHECK((m.sizes() == std::vector<int32_t>{6, 5, 3}));
    CHECK(m.clamped_input());
    CHECK(m.state_dim(hamdeq::Operator::even_odd) == 3);
    CHECK(m.state_dim(hamdeq::Operator::sync) == 8);
    CHECK(m.state_offset(hamdeq::Operator::sync, 2) == 5);

    // Copies share the model (ham_model_ref), clone() does not.
    hamdeq::Model shared = m;
    CHECK(shared.get() == m.get());
    hamdeq::Model deep = m.clone();
    CHECK(deep.get() != m.get());
    std::vector<float> w = m.weights(1);
    CHECK(w.size() == 15);
    w[0] = 0.5f;
    shared.set_weights(1, w);
    CHECK(m.weights(1)[0] == 0.5f);
    CHECK(deep.weights(1)[0] != 0.5f);
    hamdeq::Model assigned;
    assigned = shared;
    CHECK(assigned.get() == m.get());
    assigned = deep;
    CHECK(assigned.get() == deep.get());

    m.set_lagrangian(1, hamdeq::Lagrangian::softmax, 2.5);
    const hamdeq::LagrangianInfo li = m.lagrangian(1);
    CHECK(li.kind == hamdeq::Lagrangian::softmax && li.param == 2.5);
    m.set_lagrangian(1, hamdeq::Lagrangian::shifted_sigmoid);

    hamdeq::Defaults d;
    d.op = hamdeq::Operator::sync;
    d.solver = hamdeq::SolverKind::broyden;
    d.tol = 1e-5;
    d.max_iter = 77;
    m.set_defaults(d);
    const hamdeq::Defaults d2 = m.defaults();
    CHECK(d2.op == d.op && d2.solver == d.solver && d2.tol == d.tol && d2.max_iter == 77);

    // Operators against the direct reimplementation; jvp/vjp adjoint identity;
    // energy, eo_to_full and full_to_eo consistent.
    const int32_t batch = 3;
    const std::vector<float> x = lcg_floats(static_cast<std::size_t>(batch) * 6, 11);
    const std::vector<float> s = lcg_floats(static_cast<std::size_t>(batch) * 3, 12);
    const std::vector<float> g = m.apply(hamdeq::Operator::even_odd, x, s);
    const std::vector<double> ref = direct_G(m, x, s, batch);
    double maxerr = 0;
    for (std::size_t i = 0; i < g.size(); i++)
        maxerr = std::fmax(maxerr, std::fabs(g[i] - ref[i]));
    CHECK(maxerr < 1e-5);

    const std::vector<float> u = lcg_floats(s.size(), 13), v = lcg_floats(s.size(), 14);
    const std::vector<float> ju = m.jvp(hamdeq::Operator::even_odd, x, s, u);
    const std::vector<float> vj = m.vjp(hamdeq::Operator::even_odd, x, s, v);
    for (int32_t k = 0; k < batch; k++) {
        double a = 0, b = 0;
        for (int32_t i = 0; i < 3; i++) {
            const std::size_t j = static_cast<std::size_t>(k * 3 + i);
            a += static_cast<double>(v[j]) * ju[j];
            b += static_cast<double>(vj[j]) * u[j];
        }
        CHECK(std::fabs(a - b) < 1e-5 * (1 + std::fabs(a)));
    }
    const std::vector<float> full = m.eo_to_full(x, s);
    CHECK(full.size() == static_cast<std::size_t>(batch) * 8);
    CHECK(m.full_to_eo(full) == s);
    const std::vector<double> e = m.energy(x, full);
    CHECK(e.size() == static_cast<std::size_t>(batch) && std::isfinite(e[0]));

    // In memory and on disk, the same bytes.
    const std::vector<unsigned char> bytes = m.save_buffer();
    CHECK(bytes.size() == m.buffer_size());
    std::vector<unsigned char> tiny(8);
    CHECK_THROWS_STATUS(m.save_buffer(tiny.data(), tiny.size()), hamdeq::Status::dimension, e1);
    const hamdeq::Model back = hamdeq::Model::load_buffer(bytes);
    CHECK(back.weights(0) == m.weights(0) && back.bias(2) == m.bias(2));
    char dir[] = "/tmp/hamdeq_hpp_XXXXXX";
    CHECK(mkdtemp(dir) != nullptr);
    const std::string path = std::string(dir) + "/m.ham";
    m.save(path);
    const hamdeq::Model fromfile = hamdeq::Model::load(path);
    CHECK(fromfile.save_buffer() == bytes);
    std::remove(path.c_str());
    rmdir(dir);

    // release() hands the reference over; adopt() takes it back.
    hamdeq::Model tmp = m;
    ham_model_t *h = tmp.release();
    CHECK(!tmp && h == m.get());
    hamdeq::Model again = hamdeq::Model::adopt(h);
    CHECK(again.get() == m.get());
}

void test_solver_fixed_point()
{
    hamdeq::Model m = small_model();
    const int32_t batch = 4;
    const std::vector<float> x = lcg_floats(static_cast<std::size_t>(batch) * 6, 21);
    hamdeq::Solver sv(m, hamdeq::Operator::even_odd, hamdeq::SolverKind::anderson);
    m = hamdeq::Model(); // the solver keeps its own reference
    CHECK(sv.kind() == hamdeq::SolverKind::anderson);
    CHECK(sv.op() == hamdeq::Operator::even_odd);
    CHECK(sv.state_dim() == 3);
    sv.set_option(hamdeq::Option::tol, 1e-6);
    CHECK(sv.option(hamdeq::Option::tol) == 1e-6);

    std::vector<float> state(static_cast<std::size_t>(batch) * 3);
    int calls = 0;
    sv.set_callback([&](const hamdeq::IterInfo &info) {
        ++calls;
        CHECK(info.dim() == 3);
        CHECK(info.sample().size() == static_cast<std::size_t>(info.active()));
        CHECK(info.state().size() == info.output().size());
        return true;
    });
    sv.solve(state, x);
    const hamdeq::SolveStats st = sv.stats();
    CHECK(st.samples == batch && st.converged == batch);
    CHECK(calls >= st.iters_max - 1 && calls > 0);

    // s* = G(s*), G reimplemented here in double precision.
    const hamdeq::Model model = sv.model();
    const std::vector<double> g = direct_G(model, x, state, batch);
    double maxerr = 0;
    for (std::size_t i = 0; i < g.size(); i++)
        maxerr = std::fmax(maxerr, std::fabs(g[i] - state[i]) / (1 + std::fabs(g[i])));
    CHECK(maxerr < 1e-5);

    const hamdeq::Samples smp = sv.samples();
    CHECK(smp.status.size() == static_cast<std::size_t>(batch));
    for (int32_t k = 0; k < batch; k++) {
        CHECK(smp.status[static_cast<std::size_t>(k)] == hamdeq::SampleStatus::converged);
        CHECK(smp.residual[static_cast<std::size_t>(k)] < 1e-6);
    }
    std::vector<int32_t> only_iters(static_cast<std::size_t>(batch));
    sv.get_samples(only_iters, {}, {});
    CHECK(only_iters == smp.iterations);
    std::vector<double> res_short(1);
    CHECK_THROWS_STATUS(sv.get_samples({}, res_short, {}), hamdeq::Status::dimension, e0);

    // A callback that throws: the exception itself comes out after the C call.
    sv.set_callback([](const hamdeq::IterInfo &info) -> bool {
        if (info.iteration() == 1)
            throw std::runtime_error("callback boom");
        return true;
    });
    bool caught = false;
    try {
        sv.solve(state, x);
    } catch (const hamdeq::error &) {
        CHECK(false); // not translated into a status
    } catch (const std::runtime_error &e) {
        caught = std::string(e.what()) == "callback boom";
    }
    CHECK(caught);

    // Returning false stops the solve: HAM_ERR_CANCELLED.
    sv.set_callback([](const hamdeq::IterInfo &) { return false; });
    CHECK_THROWS_STATUS(sv.solve(state, x), hamdeq::Status::cancelled, e1);
    sv.set_callback(nullptr);
    sv.solve(state, x);
    CHECK(sv.stats().converged == batch);

    // A convergence test: accepted at the first iterate; one that throws aborts.
    int tests = 0;
    sv.set_conv_test([&](const hamdeq::ConvInfo &ci) {
        ++tests;
        CHECK(ci.dim() == 3 && ci.tol() == 1e-6 && ci.output().size() == 3);
        return true;
    });
    sv.solve(state, x);
    CHECK(tests == batch && sv.stats().iters_max == 1);
    sv.set_conv_test([](const hamdeq::ConvInfo &ci) -> bool {
        if (ci.sample() == 2)
            throw std::logic_error("conv boom");
        return false;
    });
    caught = false;
    try {
        sv.solve(state, x);
    } catch (const std::logic_error &e) {
        caught = std::string(e.what()) == "conv boom";
    }
    CHECK(caught);
    sv.set_conv_test(nullptr);

    // Moving a solver keeps its callbacks working (their state lives on the heap).
    int moved_calls = 0;
    sv.set_callback([&](const hamdeq::IterInfo &) { return ++moved_calls > 0; });
    hamdeq::Solver sv2 = std::move(sv);
    CHECK(!sv && sv2);
    sv2.solve(state, x);
    CHECK(moved_calls > 0);
    CHECK_THROWS_STATUS(sv.solve(state, x), hamdeq::Status::null, e2);
}

// tanh written by the user; compared with the built-in tanh.
class UserTanh : public hamdeq::CustomLagrangian {
public:
    explicit UserTanh(bool fail = false) : CustomLagrangian("user-tanh"), fail_(fail) {}
    double value(hamdeq::span<const float> s) override
    {
        double v = 0;
        for (float f : s)
            v += std::log(std::cosh(static_cast<double>(f)));
        return v;
    }
    void activation(hamdeq::span<float> g, hamdeq::span<const float> s) override
    {
        if (fail_)
            throw std::domain_error("lagrangian boom");
        for (std::size_t i = 0; i < s.size(); i++)
            g[i] = std::tanh(s[i]);
    }
    void hvp(hamdeq::span<float> out, hamdeq::span<const float>, hamdeq::span<const float> g,
             hamdeq::span<const float> v) override
    {
        for (std::size_t i = 0; i < v.size(); i++)
            out[i] = (1 - g[i] * g[i]) * v[i];
    }

private:
    bool fail_;
};

void test_custom_lagrangian()
{
    hamdeq::Model builtin = small_model();
    builtin.set_lagrangian(1, hamdeq::Lagrangian::tanh);
    hamdeq::Model user = builtin.clone();
    auto lag = std::make_shared<UserTanh>();
    user.set_custom_lagrangian(1, lag);
    CHECK(lag.use_count() == 2); // the model's holder
    CHECK(user.lagrangian(1).kind == hamdeq::Lagrangian::custom);
    const std::vector<float> x = lcg_floats(12, 31), s = lcg_floats(6, 32);
    const std::vector<float> a = builtin.apply(hamdeq::Operator::even_odd, x, s);
    const std::vector<float> b = user.apply(hamdeq::Operator::even_odd, x, s);
    for (std::size_t i = 0; i < a.size(); i++)
        CHECK(std::fabs(a[i] - b[i]) < 1e-5f);
    CHECK_THROWS_STATUS(user.save_buffer(), hamdeq::Status::unsupported, e1);
    {
        hamdeq::Model clone = user.clone();
        user = hamdeq::Model();
        CHECK(lag.use_count() == 2); // the clone shares the user data
    }
    CHECK(lag.use_count() == 1); // destroy() ran when the last model let go

    // A failed registration takes nothing.
    CHECK_THROWS_STATUS(builtin.set_custom_lagrangian(9, lag), hamdeq::Status::invalid, e2);
    CHECK(lag.use_count() == 1);

    // A throwing activation: NaN output, samples diverge, the exception is kept.
    hamdeq::Model bad = builtin.clone();
    auto failing = std::make_shared<UserTanh>(true);
    bad.set_custom_lagrangian(1, failing);
    hamdeq::Solver sv(bad, hamdeq::Operator::even_odd, hamdeq::SolverKind::picard);
    std::vector<float> state(6);
    sv.solve(state, x);
    CHECK(sv.stats().diverged == 2);
    CHECK(failing->failed());
    bool caught = false;
    try {
        failing->rethrow_if_failed();
    } catch (const std::domain_error &e) {
        caught = std::string(e.what()) == "lagrangian boom";
    }
    CHECK(caught && !failing->failed());
}

int g_backends_alive = 0;

// Plain Picard written as a user backend.
class UserPicard : public hamdeq::CustomBackend {
public:
    explicit UserPicard(int throw_at = -1) : throw_at_(throw_at) { ++g_backends_alive; }
    ~UserPicard() override { --g_backends_alive; }
    void init(int32_t dim, int32_t) override { dim_ = dim; }
    bool step(hamdeq::Step &st, hamdeq::span<float> s, hamdeq::span<float> gs,
              int32_t rows) override
    {
        if (steps_++ == throw_at_)
            throw std::out_of_range("backend boom");
        if (st.rows() != rows || st.dim() != dim_ || s.size() != gs.size())
            throw std::logic_error("bad step geometry");
        for (std::size_t i = 0; i < s.size(); i++)
            s[i] = gs[i];
        // Check Step::apply's size check once, then evaluate G(new s) ourselves.
        std::vector<float> wrong(1);
        try {
            st.apply(wrong, s);
            return false;
        } catch (const hamdeq::error &e) {
            if (e.status() != hamdeq::Status::dimension)
                throw;
        }
        st.apply(gs, s);
        return true;
    }
    void compact(hamdeq::span<const int32_t> keep) override { kept_ += keep.size(); }
    std::string name() const override { return "user-picard"; }

private:
    int throw_at_;
    int steps_ = 0;
    int32_t dim_ = 0;
    std::size_t kept_ = 0;
};

void test_custom_backend()
{
    hamdeq::Model m = small_model();
    const std::vector<float> x = lcg_floats(18, 41);
    std::vector<float> s_builtin(9), s_user(9);
    {
        hamdeq::Solver picard(m, hamdeq::Operator::even_odd, hamdeq::SolverKind::picard);
        picard.set_option(hamdeq::Option::tol, 1e-6);
        picard.solve(s_builtin, x);
        // unique_ptr(new ...), not std::make_unique: this test also builds as C++11.
        hamdeq::Solver user(m, hamdeq::Operator::even_odd,
                            std::unique_ptr<UserPicard>(new UserPicard()));
        CHECK(g_backends_alive == 1);
        CHECK(user.kind() == hamdeq::SolverKind::custom);
        user.set_option(hamdeq::Option::tol, 1e-6);
        user.solve(s_user, x);
        CHECK(user.stats().converged == 3);
        for (std::size_t i = 0; i < s_user.size(); i++)
            CHECK(std::fabs(s_user[i] - s_builtin[i]) < 1e-5f);
    }
    CHECK(g_backends_alive == 0); // ham_solver_free ran destroy()

    hamdeq::Solver boom(m, hamdeq::Operator::even_odd,
                        std::unique_ptr<UserPicard>(new UserPicard(2)));
    bool caught = false;
    try {
        boom.solve(s_user, x);
    } catch (const std::out_of_range &e) {
        caught = std::string(e.what()) == "backend boom";
    }
    CHECK(caught);
    // The next solve works again (the exception was consumed).
    boom.solve(s_user, x);
    CHECK(boom.stats().samples == 3);
    CHECK_THROWS_STATUS(hamdeq::Solver(m, hamdeq::Operator::even_odd,
                                       std::unique_ptr<hamdeq::CustomBackend>()),
                        hamdeq::Status::null, e1);
    // A failing ham_solver_new_custom takes nothing: the backend is freed here.
    CHECK_THROWS_STATUS(hamdeq::Solver(m, static_cast<hamdeq::Operator>(7),
                                       std::unique_ptr<UserPicard>(new UserPicard())),
                        hamdeq::Status::unknown_operator, e2);
    CHECK(g_backends_alive == 1);
}

void test_trainer()
{
    hamdeq::Model m({4, 6, 3}, hamdeq::Input::clamped);
    m.init_xavier(3);
    const int32_t batch = 6;
    const std::vector<float> x = lcg_floats(static_cast<std::size_t>(batch) * 4, 51);
    const std::vector<int32_t> labels = {0, 1, 2, 0, 1, 2};

    hamdeq::Trainer t(m, hamdeq::Operator::even_odd, hamdeq::SolverKind::anderson);
    hamdeq::SolverView fwd = t.solver();
    CHECK(fwd.get() == ham_trainer_solver(t.get()));
    fwd.set_option(hamdeq::Option::tol, 1e-7);
    fwd.set_option(hamdeq::Option::max_iter, 500);
    CHECK(t.solver().option(hamdeq::Option::tol) == 1e-7);
    CHECK(t.model().get() == m.get());
    t.set_option(hamdeq::TrainOption::optimizer, static_cast<double>(hamdeq::Optimizer::adam));
    t.set_option(hamdeq::TrainOption::backward_iters, 400);
    t.set_option(hamdeq::TrainOption::backward_tol, 1e-7);
    t.set_option(hamdeq::TrainOption::lr, 0.05);
    CHECK(t.option(hamdeq::TrainOption::lr) == 0.05);

    // The implicit gradient of one weight against a central difference of the loss.
    const hamdeq::StepResult r0 = t.gradient(x, labels);
    const std::vector<float> gw = t.weight_grad(1);
    CHECK(gw.size() == 18);
    CHECK(t.bias_grad(2).size() == 3);
    const std::vector<float> w = m.weights(1);
    std::size_t big = 0;
    for (std::size_t i = 1; i < gw.size(); i++)
        if (std::fabs(gw[i]) > std::fabs(gw[big]))
            big = i;
    const float h = 1e-2f;
    std::vector<float> wp = w, wm = w;
    wp[big] += h;
    wm[big] -= h;
    m.set_weights(1, wp);
    const double lp = t.gradient(x, labels).loss;
    m.set_weights(1, wm);
    const double lm = t.gradient(x, labels).loss;
    m.set_weights(1, w);
    const double fd = (lp - lm) / (2.0 * h);
    CHECK(std::fabs(fd - gw[big]) < 0.05 * std::fabs(fd) + 1e-5);
    CHECK(t.backward_stats().samples == batch);

    // Size checks before C.
    CHECK_THROWS_STATUS(t.step({x.data(), 5}, labels), hamdeq::Status::dimension, e1);
    std::vector<float> g_short(3);
    CHECK_THROWS_STATUS(t.get_weight_grad(g_short, 1), hamdeq::Status::dimension, e2);

    // Training lowers the loss on the batch.
    double last = r0.loss;
    for (int i = 0; i < 30; i++)
        last = t.step(x, labels).loss;
    CHECK(last < r0.loss);

    // A callback on the borrowed solver: its exception comes out of step().
    t.solver().set_callback([](const hamdeq::IterInfo &) -> bool {
        throw std::runtime_error("trainer boom");
    });
    bool caught = false;
    try {
        t.step(x, labels);
    } catch (const std::runtime_error &e) {
        caught = std::string(e.what()) == "trainer boom";
    }
    CHECK(caught);
    t.solver().set_callback(nullptr);
    hamdeq::Trainer t2 = std::move(t);
    CHECK(!t && t2 && !t.solver());
    t2.step(x, labels);
    CHECK_THROWS_STATUS(t.step(x, labels), hamdeq::Status::null, e3);

    hamdeq::Model free_model({3, 2}, hamdeq::Input::free);
    CHECK_THROWS_STATUS(hamdeq::Trainer(free_model, hamdeq::Operator::even_odd,
                                        hamdeq::SolverKind::anderson),
                        hamdeq::Status::unsupported, e4);
}

void write_be32(std::ofstream &f, uint32_t v)
{
    const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
    f.write(b, 4);
}

void test_dataset()
{
    char dir[] = "/tmp/hamdeq_hpp_XXXXXX";
    CHECK(mkdtemp(dir) != nullptr);
    const std::string images = std::string(dir) + "/train-images-idx3-ubyte";
    const std::string labels = std::string(dir) + "/train-labels-idx1-ubyte";
    {
        std::ofstream f(images, std::ios::binary);
        write_be32(f, 0x00000803);
        write_be32(f, 3);
        write_be32(f, 2);
        write_be32(f, 2);
        for (int i = 0; i < 12; i++)
            f.put(static_cast<char>(i * 20));
        std::ofstream l(labels, std::ios::binary);
        write_be32(l, 0x00000801);
        write_be32(l, 3);
        l.put(2);
        l.put(0);
        l.put(4);
    }
    hamdeq::Dataset d = hamdeq::Dataset::load_idx(images, labels);
    CHECK(d.count() == 3 && d.dim() == 4 && d.has_labels() && d.n_classes() == 5);
    const hamdeq::Batch b = d.get(1, 2);
    CHECK(b.x.size() == 8 && b.labels.size() == 2);
    CHECK(b.x[0] == 80.0f / 255.0f && b.labels[0] == 0 && b.labels[1] == 4);
    const std::vector<int64_t> idx = {2, 0};
    const hamdeq::Batch g = d.gather(idx);
    CHECK(g.labels[0] == 4 && g.labels[1] == 2 && g.x[4] == 0.0f);
    std::vector<float> xs(5);
    std::vector<int32_t> ls(1);
    CHECK_THROWS_STATUS(d.get(xs, ls, 0), hamdeq::Status::dimension, e1);
    CHECK_THROWS_STATUS(d.get(2, 2), hamdeq::Status::invalid, e2); // past the end: C's check

    hamdeq::Dataset dd = hamdeq::Dataset::load_dir(dir, "train");
    CHECK(dd.count() == 3);
    hamdeq::LoadOptions tiny;
    tiny.max_bytes = 4;
    CHECK_THROWS_STATUS(hamdeq::Dataset::load_dir(dir, "train", tiny), hamdeq::Status::nomem, e3);
    CHECK_THROWS_STATUS(hamdeq::Dataset::load_dir(dir, "t10k"), hamdeq::Status::io, e4);

    const std::string npy = std::string(dir) + "/x.npy";
    {
        std::ofstream f(npy, std::ios::binary);
        std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        while ((10 + header.size() + 1) % 64 != 0)
            header += ' ';
        header += '\n';
        f.write("\x93NUMPY\x01\x00", 8);
        const uint16_t hl = static_cast<uint16_t>(header.size());
        f.put(static_cast<char>(hl & 0xff));
        f.put(static_cast<char>(hl >> 8));
        f.write(header.data(), static_cast<std::streamsize>(header.size()));
        const float v[6] = {0.5f, 1.5f, -2.0f, 3.0f, 4.0f, 5.0f};
        f.write(reinterpret_cast<const char *>(v), sizeof v);
    }
    hamdeq::Dataset dn = hamdeq::Dataset::load_npy(npy);
    CHECK(dn.count() == 2 && dn.dim() == 3 && !dn.has_labels());
    const hamdeq::Batch nb = dn.get(0, 2);
    CHECK(nb.labels.empty() && nb.x[2] == -2.0f && nb.x[5] == 5.0f);
    hamdeq::Dataset moved = std::move(dn);
    CHECK(!dn && moved.count() == 2 && dn.count() == 0);

    std::remove(images.c_str());
    std::remove(labels.c_str());
    std::remove(npy.c_str());
    rmdir(dir);
}

void test_mhn()
{
    // Three orthonormal patterns in 4 dimensions: beta_s = N / (r^2 (1 - c)) = 3.
    const std::vector<float> p = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    CHECK(std::fabs(hamdeq::mhn_beta_s(p, 4) - 3.0) < 1e-5);
    CHECK_THROWS_STATUS(hamdeq::mhn_beta_s(p, 5), hamdeq::Status::dimension, e1);

    const double beta = 8.0;
    hamdeq::Model m = hamdeq::Model::mhn(p, 4, beta);
    CHECK(m.mhn_dim() == 4);
    // E(v) = -(1/beta) log sum exp(beta x.v) + v.v/2, directly.
    const std::vector<float> v = {0.3f, -0.2f, 0.9f, 0.1f};
    double lse = 0;
    for (int mu = 0; mu < 3; mu++)
        lse += std::exp(beta * v[static_cast<std::size_t>(mu)]);
    const double e_ref = -std::log(lse) / beta + (0.09 + 0.04 + 0.81 + 0.01) / 2;
    CHECK(std::fabs(m.mhn_energy(v)[0] - e_ref) < 1e-6);
    CHECK(m.mhn_hessian_min(p).size() == 3);
    CHECK(m.mhn_hessian_min(p)[0] > 0); // each stored pattern is a minimum at beta 8

    hamdeq::Solver sv(m, hamdeq::Operator::even_odd, hamdeq::SolverKind::anderson);
    sv.set_option(hamdeq::Option::warm_start, 1);
    std::vector<float> q = {0.1f, 0.05f, 0.7f, 0.2f}; // closest to pattern 2
    sv.solve(q);
    CHECK(q[2] > 0.99f && std::fabs(q[0]) < 0.01f);

    const std::vector<float> starts = {0.9f, 0.1f, 0.0f, 0.0f, 0.1f, 0.8f, 0.0f, 0.1f,
                                       0.0f, 0.2f, 0.9f, 0.0f, 1.0f, 0.0f, 0.1f, 0.0f};
    const hamdeq::MhnMinima r = hamdeq::mhn_find_minima(sv, starts, 0.05);
    CHECK(r.starts == 4 && r.converged == 4 && r.minima == 3);
    CHECK(r.points.size() == 12);
    CHECK((r.assign == std::vector<int32_t>{0, 1, 2, 0}));

    hamdeq::Model not_mhn({3, 2}, hamdeq::Input::clamped);
    CHECK_THROWS_STATUS(not_mhn.mhn_energy(v), hamdeq::Status::unsupported, e2);
}

// ham_trainer_set_reduce(): an identity reduction takes the very step of no reduction;
// a failing one fails the step with HAM_ERR_CALLBACK; an exception comes out of step().
void test_trainer_reduce()
{
    const int32_t batch = 6;
    const std::vector<float> x = lcg_floats(static_cast<std::size_t>(batch) * 4, 77);
    const std::vector<int32_t> labels = {2, 1, 0, 0, 1, 2};
    auto make = [](hamdeq::Model &m) {
        m.init_xavier(5);
        hamdeq::Trainer t(m, hamdeq::Operator::even_odd, hamdeq::SolverKind::anderson);
        t.set_option(hamdeq::TrainOption::lr, 0.05);
        return t;
    };
    hamdeq::Model ma({4, 6, 3}, hamdeq::Input::clamped), mb({4, 6, 3}, hamdeq::Input::clamped);
    hamdeq::Trainer ta = make(ma), tb = make(mb);
    int calls = 0, empty_calls = 0;
    std::size_t grad_len = 0;
    double samples = 0;
    tb.set_reduce([&](hamdeq::span<float> g, hamdeq::span<double> counts) {
        calls++;
        if (g.empty())
            empty_calls++;
        else
            grad_len = g.size();
        if (counts.size() == 4)
            samples = counts[2];
        return true;
    });
    hamdeq::Trainer tb2 = std::move(tb); // the reduction survives a move
    for (int i = 0; i < 3; i++) {
        const hamdeq::StepResult ra = ta.step(x, labels);
        const hamdeq::StepResult rb = tb2.step(x, labels);
        CHECK(std::memcmp(&ra.loss, &rb.loss, sizeof ra.loss) == 0);
        CHECK(ra.correct == rb.correct);
    }
    CHECK(calls == 6 && empty_calls == 3);
    CHECK(grad_len >= 4 * 6 + 6 * 3);
    CHECK(samples == batch);
    for (int32_t b = 0; b < 2; b++) {
        const std::vector<float> wa = ma.weights(b), wb = mb.weights(b);
        CHECK(std::memcmp(wa.data(), wb.data(), wa.size() * sizeof(float)) == 0);
    }

    tb2.set_reduce([](hamdeq::span<float>, hamdeq::span<double>) { return false; });
    CHECK_THROWS_STATUS(tb2.step(x, labels), hamdeq::Status::callback, e1);
    CHECK_THROWS_STATUS(tb2.gradient(x, labels), hamdeq::Status::callback, e2);

    tb2.set_reduce([](hamdeq::span<float> g, hamdeq::span<double>) -> bool {
        if (!g.empty())
            throw std::runtime_error("reduce boom");
        return true;
    });
    bool caught = false;
    try {
        tb2.step(x, labels);
    } catch (const std::runtime_error &e) {
        caught = std::string(e.what()) == "reduce boom";
    }
    CHECK(caught);

    tb2.clear_reduce();
    CHECK(tb2.step(x, labels).loss > 0);
    CHECK(ta.backward_stats().rejected_steps >= 0 && ta.backward_stats().unstable == 0);
}

} // namespace

int main()
{
    try {
        test_errors();
        test_size_checks();
        test_model();
        test_solver_fixed_point();
        test_custom_lagrangian();
        test_custom_backend();
        test_trainer();
        test_trainer_reduce();
        test_dataset();
        test_mhn();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "unexpected exception: %s\n", e.what());
        return 1;
    }
    std::printf("hamdeq.hpp: %d checks, %d failed\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
