// embed: associative recall embedded in a C++ application, through <hamdeq/hamdeq.hpp>.
//
// The application keeps a small "codebook" of stored patterns and cleans up noisy
// queries by retrieving the nearest stored pattern from a Modern Hopfield network
// (ham_mhn_new: v <- X softmax(beta X^T v)). The network travels as bytes, the way a
// program embeds a model in its binary or receives it over a socket (no file system:
// Model::save_buffer / Model::load_buffer), and the recall component owns its model and
// solver through RAII members, so the application never frees anything by hand.
// Structs are filled member by member (no C99 designated initialisers).
//
// Build against an installed libhamdeq:
//     c++ -std=c++11 embed.cpp $(pkg-config --cflags --libs hamdeq) -o embed
#include <hamdeq/hamdeq.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace app {

// The recall component an application would hold as a member.
class Recall {
public:
    // From the raw patterns (one per row, `dim` long) and an inverse temperature.
    Recall(const std::vector<float> &patterns, int32_t dim, double beta)
        : Recall(hamdeq::Model::mhn(patterns, dim, beta))
    {
    }
    // From a serialised network (as shipped inside the application).
    static Recall from_bytes(const std::vector<unsigned char> &bytes)
    {
        return Recall(hamdeq::Model::load_buffer(bytes));
    }

    std::vector<unsigned char> to_bytes() const { return model_.save_buffer(); }
    int32_t dim() const { return dim_; }
    int32_t n_patterns() const { return model_.layer_size(0); }

    struct Result {
        std::vector<float> state; // the retrieved pattern
        int32_t iterations = 0;
        bool converged = false;
    };

    // Cleans up a batch of queries (rows of `dim`): each row is replaced by the fixed point
    // it flows to. A query of the wrong length throws hamdeq::error before any solve.
    std::vector<Result> recall(std::vector<float> queries)
    {
        solver_.solve(queries); // warm start: the queries are the initial states
        const hamdeq::Samples s = solver_.samples();
        std::vector<Result> out(s.status.size());
        for (std::size_t k = 0; k < out.size(); k++) {
            out[k].state.assign(queries.begin() + static_cast<std::ptrdiff_t>(k * dim_u()),
                                queries.begin() + static_cast<std::ptrdiff_t>((k + 1) * dim_u()));
            out[k].iterations = s.iterations[k];
            out[k].converged = s.status[k] == hamdeq::SampleStatus::converged;
        }
        return out;
    }

private:
    explicit Recall(hamdeq::Model model)
        : model_(std::move(model)), dim_(model_.mhn_dim()),
          solver_(model_, hamdeq::Operator::even_odd, hamdeq::SolverKind::anderson)
    {
        solver_.set_option(hamdeq::Option::warm_start, 1);
        solver_.set_option(hamdeq::Option::tol, 1e-5);
    }
    std::size_t dim_u() const { return static_cast<std::size_t>(dim_); }

    hamdeq::Model model_;
    int32_t dim_;
    hamdeq::Solver solver_;
};

} // namespace app

int main()
{
    const int32_t dim = 48, n = 6, flips = 12;
    // The codebook: n random +-1 codes of `dim` entries, scaled to unit length.
    std::vector<float> codes(static_cast<std::size_t>(n * dim));
    uint32_t rng = 7u;
    const float unit = 1.0f / std::sqrt(static_cast<float>(dim));
    for (float &c : codes) {
        rng = rng * 1664525u + 1013904223u;
        c = (rng >> 31) ? unit : -unit;
    }

    try {
        const double beta_s = hamdeq::mhn_beta_s(codes, dim);
        const double beta = 8.0 * beta_s; // well above the transition: one minimum per code
        std::vector<unsigned char> shipped;
        {
            const app::Recall built(codes, dim, beta);
            shipped = built.to_bytes();
        }
        // What the application does at start-up: load the network from its bytes.
        app::Recall recall = app::Recall::from_bytes(shipped);
        std::printf("libhamdeq %s: %d codes of %d entries, beta_s %.3f, beta %.3f, "
                    "network %zu bytes\n",
                    hamdeq::version_string().c_str(), static_cast<int>(recall.n_patterns()),
                    static_cast<int>(recall.dim()), beta_s, beta, shipped.size());

        // Each code with `flips` entries flipped, all recalled in one batch.
        std::vector<float> queries = codes;
        for (int32_t k = 0; k < n; k++)
            for (int32_t i = 0; i < flips; i++) {
                const std::size_t j = static_cast<std::size_t>(k * dim + (i * 5 + k) % dim);
                queries[j] = -queries[j];
            }
        const std::vector<app::Recall::Result> results = recall.recall(queries);

        std::printf("query  flipped  iterations  recalled  overlap\n");
        int correct = 0;
        for (int32_t k = 0; k < n; k++) {
            const app::Recall::Result &r = results[static_cast<std::size_t>(k)];
            int32_t best = -1;
            double best_overlap = -2;
            for (int32_t mu = 0; mu < n; mu++) {
                double o = 0;
                for (int32_t i = 0; i < dim; i++)
                    o += static_cast<double>(codes[static_cast<std::size_t>(mu * dim + i)]) *
                         r.state[static_cast<std::size_t>(i)];
                if (o > best_overlap) {
                    best_overlap = o;
                    best = mu;
                }
            }
            correct += best == k && r.converged && best_overlap > 0.99;
            std::printf("%5d  %7d  %10d  %8d  %7.4f\n", static_cast<int>(k),
                        static_cast<int>(flips), static_cast<int>(r.iterations),
                        static_cast<int>(best), best_overlap);
        }
        std::printf("%d of %d queries recalled their code\n", correct, static_cast<int>(n));

        // A malformed query is refused by the C++ layer before the library sees it.
        try {
            recall.recall(std::vector<float>(static_cast<std::size_t>(dim) + 1));
        } catch (const hamdeq::error &e) {
            std::printf("a %d-value query: %s\n", static_cast<int>(dim) + 1, e.name().c_str());
        }
        return correct == n ? 0 : 1;
    } catch (const hamdeq::error &e) {
        std::fprintf(stderr, "embed: %s: %s\n", e.name().c_str(), e.message().c_str());
        return 1;
    }
}
