/* Vectorisable elementwise exp for the activation passes: glibc's expf is a call the
 * compiler cannot vectorise, and the activations of a 784-512-10 solve spent more time
 * in it than in sgemm (callgrind). Cody-Waite range reduction and a degree-6 Taylor
 * polynomial on |r| <= ln2/2: relative error below 3e-7 (about 2 ulp) over the
 * clamped range, checked against expf in tests/check_lagrangian.c. */
#ifndef HAMDEQ_FASTMATH_H
#define HAMDEQ_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* Hot elementwise loops are compiled three times, for x86-64-v4 (AVX-512), x86-64-v3
 * (AVX2 + FMA) and the baseline, and the loader picks the best the CPU runs (GNU ifunc).
 * The baseline build has SSE2 only, a quarter of AVX-512's width. Only where GCC and
 * glibc support it; elsewhere the loops are compiled once. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) &&    \
    !defined(HAMDEQ_NO_CLONES)
#define HAMP_VECTOR_CLONES                                                                 \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HAMP_VECTOR_CLONES
#endif

static inline float hamp_expf(float x)
{
    /* below -87.3 the result is denormal or zero, above 88.7 it overflows: clamp, so the
     * exponent arithmetic below stays in range; callers only need the saturated values */
    x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float t = x * 1.44269504f + shifter;
    int32_t tb;
    memcpy(&tb, &t, sizeof tb);
    float n = t - shifter;
    float r = x - n * 0.693145752f; /* ln 2 split in two: hi and lo */
    r = r - n * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f +
                      r * (0.00833333377f + r * 0.00138888892f)))));
    int32_t pb;
    memcpy(&pb, &p, sizeof pb);
    /* tb - bits(shifter) = n; add n to the exponent (shifted as unsigned: n may be < 0) */
    pb = (int32_t)((uint32_t)pb + ((uint32_t)(tb - 0x4B400000) << 23));
    memcpy(&p, &pb, sizeof p);
    return p;
}

/* hamp_expf for |x| <= HAMP_EXPF_SMALL, bit for bit: there the range reduction rounds
 * x / ln 2 to n = 0, so r = x and the exponent is left alone; only the polynomial
 * remains. */
#define HAMP_EXPF_SMALL 0.34f

static inline float hamp_expf_small(float r)
{
    return 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f +
                  r * (0.00833333377f + r * 0.00138888892f)))));
}

#endif /* HAMDEQ_FASTMATH_H */
