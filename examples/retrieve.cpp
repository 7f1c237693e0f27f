// retrieve (C++): the retrieval of retrieve.c through the C++ layer <hamdeq/hamdeq.hpp>:
// solve a batch of a 784-512-10 HAM with the even-odd operator and Anderson acceleration,
// and print what each sample took. It prints exactly what retrieve.c prints.
//
// Build against an installed libhamdeq:
//     c++ -std=c++11 retrieve.cpp $(pkg-config --cflags --libs hamdeq) -o retrieve-cpp
#include <hamdeq/hamdeq.hpp>

#include <cstdint>
#include <cstdio>
#include <vector>

int main()
{
    constexpr int32_t batch = 8;
    try {
        // The paper's model: shifted sigmoid everywhere (the default), Xavier weights.
        hamdeq::Model model({784, 512, 10}, hamdeq::Input::clamped);
        model.init_xavier(1);

        // Inputs: `batch` images of 784 "pixels" in [0, 1) from a small fixed generator.
        std::vector<float> x(static_cast<std::size_t>(batch) * 784);
        uint32_t rng = 12345u;
        for (float &v : x) {
            rng = rng * 1664525u + 1013904223u;
            v = static_cast<float>(rng >> 8) / 16777216.0f;
        }

        // The even-odd state holds only the output layer: 10 floats per sample.
        const int32_t dim = model.state_dim(hamdeq::Operator::even_odd);
        std::vector<float> state(static_cast<std::size_t>(batch) * static_cast<std::size_t>(dim));

        hamdeq::Solver solver(model, hamdeq::Operator::even_odd, hamdeq::SolverKind::anderson);
        solver.set_option(hamdeq::Option::tol, 1e-4);
        solver.solve(state, x); // the batch is state.size() / dim; sizes are checked

        const hamdeq::Samples samples = solver.samples();
        std::printf("libhamdeq %s: 784-512-10, even-odd + Anderson, tol 1e-4\n",
                    hamdeq::version_string().c_str());
        std::printf("sample  iterations  residual   status     argmax\n");
        for (int32_t k = 0; k < batch; k++) {
            const float *s = state.data() + static_cast<std::size_t>(k) * dim;
            int best = 0;
            for (int j = 1; j < dim; j++)
                if (s[j] > s[best])
                    best = j;
            const hamdeq::SampleStatus st = samples.status[static_cast<std::size_t>(k)];
            std::printf("%6d  %10d  %.2e  %-9s  %6d\n", static_cast<int>(k),
                        static_cast<int>(samples.iterations[static_cast<std::size_t>(k)]),
                        samples.residual[static_cast<std::size_t>(k)],
                        st == hamdeq::SampleStatus::converged  ? "converged"
                        : st == hamdeq::SampleStatus::max_iter ? "max-iter"
                                                               : "diverged",
                        best);
        }
        const hamdeq::SolveStats stats = solver.stats();
        std::printf("mean %.2f iterations, %d of %d converged\n", stats.iters_mean,
                    static_cast<int>(stats.converged), static_cast<int>(stats.samples));
        return stats.converged == stats.samples ? 0 : 1;
    } catch (const hamdeq::error &e) {
        // e.name() is the status ("HAM_ERR_..."), e.message() the library's message.
        std::fprintf(stderr, "retrieve: %s: %s\n", e.name().c_str(), e.message().c_str());
        return 1;
    }
    // Every handle is freed by its destructor, in any order (the solver holds its own
    // reference to the model).
}
