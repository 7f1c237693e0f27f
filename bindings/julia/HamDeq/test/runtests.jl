# Package tests of HamDeq.jl. Run with LIBHAMDEQ pointing at a built library:
#     LIBHAMDEQ=$PWD/build/lib/libhamdeq.so.0 julia --project=bindings/julia/HamDeq \
#         -e 'using Pkg; Pkg.test()'
# (Not run on the project's CI machines, which have no Julia: bindings/julia/ci.sh checks
# every ccall against the C headers instead.)
using Test
using HamDeq

lcg(n, seed) = begin
    v = Vector{Float32}(undef, n)
    s = UInt32(seed)
    for i in 1:n
        s = s * UInt32(1664525) + UInt32(1013904223)
        v[i] = Float32(s >> 8) / 16777216.0f0
    end
    v
end

g(s) = 1 / (1 + exp(-4 * (s - 0.5)))  # shifted sigmoid

# G of a clamped 3-layer shifted-sigmoid model in Float64 (docs/math.md section 2):
# h = W1' g(x) + W2 g(s) + b2;  G(s) = W2' g(h) + b3  (Julia's 1-based blocks and layers).
function direct_G(m, x, s)
    W1 = Float64.(weights(m, 1)); W2 = Float64.(weights(m, 2))
    b2 = Float64.(bias(m, 2)); b3 = Float64.(bias(m, 3))
    h = W1' * g.(Float64.(x)) .+ W2 * g.(Float64.(s)) .+ b2
    return W2' * g.(h) .+ b3
end

function small_model()
    m = Model([6, 5, 3]; clamped = true)
    init_xavier!(m, 7)
    set_bias!(m, 2, Float32[0.1, -0.2, 0.3, 0.0, 0.05])
    set_bias!(m, 3, Float32[0.2, -0.1, 0.4])
    return m
end

@testset "HamDeq" begin
    @testset "library and names" begin
        maj, mnr, pat = parse.(Int, split(version_string(), "."))
        @test version() == 10000 * maj + 100 * mnr + pat
        @test status_name(-12) == "HAM_ERR_CANCELLED"
        @test strerror(ERR_NULL) != ""
        @test lagrangian_name(LAGRANGIAN_TANH) == "tanh"
        @test lagrangian_from_name("softmax") == LAGRANGIAN_SOFTMAX
        @test solver_kind_from_name(solver_kind_name(SOLVER_BROYDEN)) == SOLVER_BROYDEN
        @test operator_from_name(operator_name(OPERATOR_EVEN_ODD)) == OPERATOR_EVEN_ODD
        @test option_info(OPT_TOL).default == 1e-4
        @test option_info(TRAIN_BACKWARD_ITERS).default == 8
    end

    @testset "errors carry status and message" begin
        err = try
            Model([4]; clamped = true)
            nothing
        catch e
            e
        end
        @test err isa HamDeqError
        @test err.status == Int32(ERR_INVALID)
        @test err.name == "HAM_ERR_INVALID"
        @test !isempty(err.message)
        @test_throws HamDeqError load_model("/nonexistent/dir/model.ham")
        e2 = try load_model("/nonexistent/dir/model.ham") catch e; e end
        @test e2.status == Int32(ERR_IO) && occursin("/nonexistent/dir/model.ham", e2.message)
        e3 = try lagrangian_from_name("nope") catch e; e end
        @test e3.status == Int32(ERR_UNKNOWN_LAGRANGIAN)
        e4 = try load_buffer(UInt8[1, 2, 3, 4, 5, 6, 7, 8]) catch e; e end
        @test e4.status == Int32(ERR_FORMAT) && startswith(e4.message, "model buffer: ")
    end

    @testset "model: layout, sharing, cloning" begin
        m = small_model()
        @test n_layers(m) == 3 && layer_sizes(m) == [6, 5, 3] && has_clamped_input(m)
        @test state_dim(m, OPERATOR_EVEN_ODD) == 3 && state_dim(m, OPERATOR_SYNC) == 8
        @test state_range(m, OPERATOR_SYNC, 3) == 6:8
        @test size(weights(m, 1)) == (6, 5)
        sh = share(m)
        cl = clone(m)
        W = weights(m, 2)
        W[1, 1] = 0.5f0
        set_weights!(sh, 2, W)
        @test weights(m, 2)[1, 1] == 0.5f0      # shared
        @test weights(cl, 2)[1, 1] != 0.5f0     # independent
        close(sh)
        @test !isopen(sh) && isopen(m)
        close(sh)                               # idempotent
        set_lagrangian!(m, 2, LAGRANGIAN_SOFTMAX, 2.5)
        @test lagrangian(m, 2) == (kind = LAGRANGIAN_SOFTMAX, param = 2.5)
        set_lagrangian!(m, 2, LAGRANGIAN_SHIFTED_SIGMOID)
        set_defaults!(m; op = OPERATOR_SYNC, solver = SOLVER_BROYDEN, tol = 1e-5, max_iter = 77)
        @test defaults(m) == (op = OPERATOR_SYNC, solver = SOLVER_BROYDEN, tol = 1e-5, max_iter = 77)
        @test_throws DimensionMismatch set_weights!(m, 1, zeros(Float32, 5, 6))
        @test_throws DimensionMismatch set_bias!(m, 2, zeros(Float32, 4))

        # dim x batch matrices are C's batch x dim rows, without copies: column k is sample k.
        x = reshape(lcg(6 * 3, 11), 6, 3)
        s = reshape(lcg(3 * 3, 12), 3, 3)
        G = apply(m, OPERATOR_EVEN_ODD, x, s)
        @test size(G) == (3, 3)
        @test maximum(abs.(G .- direct_G(m, x, s))) < 1e-5
        @test apply(m, OPERATOR_EVEN_ODD, x[:, 2], s[:, 2]) ≈ G[:, 2]
        @test_throws DimensionMismatch apply(m, OPERATOR_EVEN_ODD, x, zeros(Float32, 4, 3))
        @test_throws ArgumentError apply(m, OPERATOR_EVEN_ODD, nothing, s)
        u = reshape(lcg(9, 13), 3, 3); v = reshape(lcg(9, 14), 3, 3)
        Ju = jvp(m, OPERATOR_EVEN_ODD, x, s, u)
        vJ = vjp(m, OPERATOR_EVEN_ODD, x, s, v)
        for k in 1:3
            @test isapprox(sum(v[:, k] .* Ju[:, k]), sum(vJ[:, k] .* u[:, k]); atol = 1e-5)
        end
        full = eo_to_full(m, x, s)
        @test size(full) == (8, 3) && full_to_eo(m, full) == s
        @test length(energy(m, x, full)) == 3

        bytes = save_buffer(m)
        back = load_buffer(bytes)
        @test weights(back, 1) == weights(m, 1) && bias(back, 3) == bias(m, 3)
        path = joinpath(mktempdir(), "m.ham")
        save(m, path)
        @test save_buffer(load_model(path)) == bytes
    end

    @testset "solver: fixed point, callbacks" begin
        m = small_model()
        x = reshape(lcg(6 * 4, 21), 6, 4)
        sv = Solver(m, OPERATOR_EVEN_ODD, SOLVER_ANDERSON)
        close(m)                                # the solver keeps its own reference
        @test solver_kind(sv) == SOLVER_ANDERSON && solver_operator(sv) == OPERATOR_EVEN_ODD
        set_option!(sv, OPT_TOL, 1e-6)
        @test get_option(sv, OPT_TOL) == 1e-6
        calls = Ref(0)
        set_callback!(sv, info -> (calls[] += 1; @assert size(info.state, 1) == 3; true))
        state = zeros(Float32, 3, 4)
        solve!(sv, state, x)
        st = stats(sv)
        @test st.samples == 4 && st.converged == 4 && calls[] > 0
        mm = solver_model(sv)
        @test maximum(abs.(direct_G(mm, x, state) .- state)) < 1e-5
        smp = samples(sv)
        @test all(==(SAMPLE_CONVERGED), smp.status) && all(<(1e-6), smp.residual)

        set_callback!(sv, info -> info.iteration == 1 ? error("callback boom") : true)
        err = try solve!(sv, state, x); nothing catch e; e end
        @test err isa ErrorException && err.msg == "callback boom"
        set_callback!(sv, info -> false)
        err = try solve!(sv, state, x); nothing catch e; e end
        @test err isa HamDeqError && err.status == Int32(ERR_CANCELLED)
        set_callback!(sv, nothing)

        tests = Ref(0)
        set_conv_test!(sv, ci -> (tests[] += 1; true))
        solve!(sv, state, x)
        @test tests[] == 4 && stats(sv).iters_max == 1
        set_conv_test!(sv, ci -> ci.sample == 3 ? throw(DomainError(ci.sample)) : false)
        @test_throws DomainError solve!(sv, state, x)
        set_conv_test!(sv, nothing)
        @test_throws DimensionMismatch solve!(sv, zeros(Float32, 4, 4), x)
        close(sv)
        @test_throws HamDeqError solve!(sv, state, x)
    end

    @testset "custom Lagrangian and backend" begin
        base = small_model()
        set_lagrangian!(base, 2, LAGRANGIAN_TANH)
        user = clone(base)
        lag = CustomLagrangian(s -> sum(log.(cosh.(Float64.(s)))),
                               (gv, s) -> (gv .= tanh.(s)),
                               (out, s, gv, v) -> (out .= (1 .- gv .^ 2) .* v); name = "user-tanh")
        set_custom_lagrangian!(user, 2, lag)
        @test lagrangian(user, 2).kind == LAGRANGIAN_CUSTOM
        x = reshape(lcg(12, 31), 6, 2); s = reshape(lcg(6, 32), 3, 2)
        @test maximum(abs.(apply(user, OPERATOR_EVEN_ODD, x, s) .-
                           apply(base, OPERATOR_EVEN_ODD, x, s))) < 1e-5
        bad = CustomLagrangian(s -> 0.0, (gv, s) -> error("lagrangian boom"), (o, s, gv, v) -> nothing)
        badm = clone(base)
        set_custom_lagrangian!(badm, 2, bad)
        sv = Solver(badm, OPERATOR_EVEN_ODD, SOLVER_PICARD)
        solve!(sv, zeros(Float32, 3, 2), x)
        @test stats(sv).diverged == 2
        @test_throws ErrorException rethrow_if_failed(bad)

        # Plain Picard as a user backend equals the built-in one.
        picard = CustomBackend((ctx, S, GS) -> (S .= GS; false); name = "user-picard")
        us = Solver(base, OPERATOR_EVEN_ODD, picard)
        bs = Solver(base, OPERATOR_EVEN_ODD, SOLVER_PICARD)
        set_option!(us, OPT_TOL, 1e-6); set_option!(bs, OPT_TOL, 1e-6)
        a = solve!(us, zeros(Float32, 3, 2), x)
        b = solve!(bs, zeros(Float32, 3, 2), x)
        @test solver_kind(us) == SOLVER_CUSTOM
        @test maximum(abs.(a .- b)) < 1e-5
        # step evaluating G itself through the step context
        evalstep = CustomBackend((ctx, S, GS) -> (S .= GS; apply_step!(ctx, GS, copy(S)); true))
        es = Solver(base, OPERATOR_EVEN_ODD, evalstep)
        set_option!(es, OPT_TOL, 1e-6)
        @test maximum(abs.(solve!(es, zeros(Float32, 3, 2), x) .- b)) < 1e-5
        boom = Solver(base, OPERATOR_EVEN_ODD, CustomBackend((ctx, S, GS) -> throw(BoundsError())))
        @test_throws BoundsError solve!(boom, zeros(Float32, 3, 2), x)
    end

    @testset "trainer" begin
        m = Model([4, 6, 3]; clamped = true)
        init_xavier!(m, 3)
        x = reshape(lcg(4 * 6, 51), 4, 6)
        labels = Int32[0, 1, 2, 0, 1, 2]
        t = Trainer(m, OPERATOR_EVEN_ODD, SOLVER_ANDERSON)
        fwd = forward_solver(t)
        @test forward_solver(t) === fwd
        set_option!(fwd, OPT_TOL, 1e-7); set_option!(fwd, OPT_MAX_ITER, 500)
        set_option!(t, TRAIN_OPTIMIZER, Integer(OPTIMIZER_ADAM))
        set_option!(t, TRAIN_BACKWARD_ITERS, 400); set_option!(t, TRAIN_BACKWARD_TOL, 1e-7)
        set_option!(t, TRAIN_LR, 0.05)
        @test get_option(t, TRAIN_LR) == 0.05
        r0 = gradient!(t, x, labels)
        gw = weight_grad(t, 2)
        @test size(gw) == (6, 3) && length(bias_grad(t, 3)) == 3
        k = argmax(abs.(gw))
        W = weights(m, 2); h = 1f-2
        Wp = copy(W); Wp[k] += h; set_weights!(m, 2, Wp); lp = gradient!(t, x, labels).loss
        Wm = copy(W); Wm[k] -= h; set_weights!(m, 2, Wm); lm = gradient!(t, x, labels).loss
        set_weights!(m, 2, W)
        fd = (lp - lm) / (2h)
        @test abs(fd - gw[k]) < 0.05 * abs(fd) + 1e-5
        @test backward_stats(t).samples == 6
        last = r0.loss
        for _ in 1:30
            last = step!(t, x, labels).loss
        end
        @test last < r0.loss
        set_callback!(fwd, info -> error("trainer boom"))
        err = try step!(t, x, labels); nothing catch e; e end
        @test err isa ErrorException && err.msg == "trainer boom"
        set_callback!(fwd, nothing)
        @test_throws DimensionMismatch step!(t, x, labels[1:5])
        close(t)
        @test !isopen(fwd)                      # the borrowed solver died with the trainer
        @test_throws HamDeqError Trainer(Model([3, 2]; clamped = false), OPERATOR_EVEN_ODD,
                                         SOLVER_ANDERSON)
    end

    @testset "trainer: gradient reduction" begin
        x = reshape(lcg(4 * 6, 77), 4, 6)
        labels = Int32[2, 1, 0, 0, 1, 2]
        mk() = (m = Model([4, 6, 3]; clamped = true); init_xavier!(m, 5); m)
        ma, mb = mk(), mk()
        ta = Trainer(ma, OPERATOR_EVEN_ODD, SOLVER_ANDERSON)
        tb = Trainer(mb, OPERATOR_EVEN_ODD, SOLVER_ANDERSON)
        calls = Ref(0); empties = Ref(0); nsamples = Ref(0.0)
        set_reduce!(tb, (g, c) -> (calls[] += 1; isempty(g) && (empties[] += 1);
                                   nsamples[] = c[3]; true))
        for _ in 1:3
            ra, rb = step!(ta, x, labels), step!(tb, x, labels)
            @test ra.loss === rb.loss && ra.correct == rb.correct
        end
        @test calls[] == 6 && empties[] == 3 && nsamples[] == 6
        @test weights(ma, 1) == weights(mb, 1) && weights(ma, 2) == weights(mb, 2)
        set_reduce!(tb, (g, c) -> false)
        err = try step!(tb, x, labels); nothing catch e; e end
        @test err isa HamDeqError && err.status == Integer(ERR_CALLBACK)
        set_reduce!(tb, (g, c) -> error("reduce boom"))
        err = try gradient!(tb, x, labels); nothing catch e; e end
        @test err isa ErrorException && err.msg == "reduce boom"
        set_reduce!(tb, nothing)
        @test step!(tb, x, labels).loss > 0
        @test backward_stats(ta).unstable == 0 && backward_stats(ta).rejected_steps >= 0
        @test Integer(OPT_STABILITY_CHECK) == 17 && Integer(SAMPLE_UNSTABLE) == 3
    end

    @testset "dataset" begin
        dir = mktempdir()
        be32(io, v) = write(io, hton(UInt32(v)))
        open(joinpath(dir, "train-images-idx3-ubyte"), "w") do io
            be32(io, 0x00000803); be32(io, 3); be32(io, 2); be32(io, 2)
            write(io, UInt8[i * 20 for i in 0:11])
        end
        open(joinpath(dir, "train-labels-idx1-ubyte"), "w") do io
            be32(io, 0x00000801); be32(io, 3)
            write(io, UInt8[2, 0, 4])
        end
        d = load_dir(dir, "train")
        @test length(d) == 3 && dim(d) == 4 && has_labels(d) && n_classes(d) == 5
        b = getbatch(d, 2, 2)
        @test size(b.x) == (4, 2) && b.x[1, 1] == 80f0 / 255f0 && b.labels == Int32[0, 4]
        gb = gather(d, [3, 1])
        @test gb.labels == Int32[4, 2] && gb.x[1, 2] == 0f0
        d2 = load_idx(joinpath(dir, "train-images-idx3-ubyte"))
        @test !has_labels(d2) && isempty(getbatch(d2, 1, 1).labels)
        e = try load_dir(dir, "train"; max_bytes = 4) catch e; e end
        @test e isa HamDeqError && e.status == Int32(ERR_NOMEM)
        e = try load_dir(dir, "t10k") catch e; e end
        @test e isa HamDeqError && e.status == Int32(ERR_IO)
        close(d); close(d)
    end

    @testset "Modern Hopfield network" begin
        P = Float32[1 0 0; 0 1 0; 0 0 1; 0 0 0]      # three orthonormal patterns, dim 4
        @test isapprox(mhn_beta_s(P), 3.0; atol = 1e-5)
        m = mhn_model(P, 8.0)
        v = Float32[0.3, -0.2, 0.9, 0.1]
        eref = -log(sum(exp.(8.0 .* v[1:3]))) / 8.0 + sum(abs2, Float64.(v)) / 2
        @test isapprox(mhn_energy(m, v)[1], eref; atol = 1e-6)
        @test all(>(0), mhn_hessian_min(m, P))
        sv = Solver(m, OPERATOR_EVEN_ODD, SOLVER_ANDERSON)
        set_option!(sv, OPT_WARM_START, 1)
        q = Float32[0.1, 0.05, 0.7, 0.2]
        solve!(sv, q)
        @test q[3] > 0.99f0
        starts = Float32[0.9 0.1 0.0 1.0; 0.1 0.8 0.2 0.0; 0.0 0.0 0.9 0.1; 0.0 0.1 0.0 0.0]
        r = find_minima(sv, starts; cluster_tol = 0.05)
        @test r.starts == 4 && r.minima == 3 && size(r.points) == (4, 3)
        @test r.assign == [1, 2, 3, 1]
    end
end
