/*
 * isa_peak.c — what one core of this CPU can issue, instruction by
 * instruction: the ceilings the product tiles work under.  Twelve independent
 * accumulators per loop (more than latency x pipes on any x86 core we run
 * on), written as inline asm so that the compiler adds nothing.
 *
 *   AVX2 FMA (vfmadd231ps ymm)           fp32, the AVX2 half-precision tile
 *   AVX-512 FMA (vfmadd231ps zmm)        fp32, the AVX-512 tile
 *   AVX2 pmaddwd + paddd (ymm)           int16 pairs, the AVX2 int8 tile (Q16)
 *   AVX2 pmaddubsw + pmaddwd + paddd     u8 x s8 pairs widened, ONNX Runtime's
 *                                        AVX2 int8 kernel (its 16-bit sums saturate)
 *   AVX-VNNI / AVX512-VNNI vpdpbusd      u8 x s8 quads, the VNNI tiles
 *
 * Rows for instruction sets this CPU (or its OS) does not run print
 * SKIPPED, by the test the kernels' dispatch makes (bcore_kernels_use).
 *
 *   make -C bench isa_peak && bench/isa_peak
 */
#include <stdio.h>
#include <time.h>

#include "ops.h"

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

#define X12(op) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11)
#define FMA_Y(i) "vfmadd231ps %%ymm13, %%ymm14, %%ymm" #i "\n\t"
#define FMA_Z(i) "vfmadd231ps %%zmm13, %%zmm14, %%zmm" #i "\n\t"
#define MADD_Y(i) "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm" #i ", %%ymm" #i "\n\t"
#define UBSW_Y(i) "vpmaddubsw %%ymm13, %%ymm14, %%ymm15\n\tvpmaddwd %%ymm12, %%ymm15, %%ymm15\n\t" \
	"vpaddd %%ymm15, %%ymm" #i ", %%ymm" #i "\n\t"
#define VNNI_Y(i) "%{vex%} vpdpbusd %%ymm13, %%ymm14, %%ymm" #i "\n\t"
#define VNNI_Z(i) "vpdpbusd %%zmm13, %%zmm14, %%zmm" #i "\n\t"
#define ZERO "vpxor %%xmm13, %%xmm13, %%xmm13\n\tvpxor %%xmm14, %%xmm14, %%xmm14\n\t" \
	"vpxor %%xmm12, %%xmm12, %%xmm12\n\t"
#define LOOP(body) __asm__ volatile(ZERO "1:\n\t" body "dec %0\n\tjnz 1b" : "+r"(n) : : "memory", \
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
	"xmm11", "xmm12", "xmm13", "xmm14", "xmm15")

__attribute__((target("avx2,fma"))) static void fma_y(long n) { LOOP(X12(FMA_Y)); }
__attribute__((target("avx512f"))) static void fma_z(long n) { LOOP(X12(FMA_Z)); }
__attribute__((target("avx2"))) static void madd_y(long n) { LOOP(X12(MADD_Y)); }
__attribute__((target("avx2"))) static void ubsw_y(long n) { LOOP(X12(UBSW_Y)); }
__attribute__((target("avxvnni,avx2"))) static void vnni_y(long n) { LOOP(X12(VNNI_Y)); }
__attribute__((target("avx512vnni,avx512f"))) static void vnni_z(long n) { LOOP(X12(VNNI_Z)); }

typedef struct Probe
{
	const char *name;
	const char *kernels;		/* the variant that needs the same (ops.h) */
	void		(*run) (long n);
	double		per;			/* units (FLOP, or multiply-adds) per accumulator step */
	const char *unit;
} Probe;

int
main(void)
{
	/* an FMA is 2 FLOP a lane: 8 lanes in ymm, 16 in zmm */
	static const Probe probes[] = {
		{"AVX2 FMA, vfmadd231ps ymm", "avx2", fma_y, 16, "GFLOP/s"},
		{"AVX-512 FMA, vfmadd231ps zmm", "avx512", fma_z, 32, "GFLOP/s"},
		{"AVX2 pmaddwd + paddd (int16 pairs)", "avx2", madd_y, 16, "G multiply-adds/s"},
		{"AVX2 pmaddubsw + pmaddwd + paddd (u8 x s8)", "avx2", ubsw_y, 32, "G multiply-adds/s"},
		{"AVX-VNNI vpdpbusd ymm", "avx2-vnni", vnni_y, 32, "G multiply-adds/s"},
		{"AVX512-VNNI vpdpbusd zmm", "avx512-vnni", vnni_z, 64, "G multiply-adds/s"},
	};
	const long	n = 50 * 1000 * 1000;

	printf("one core, 12 accumulators, best of 3 runs of %ld steps\n", n);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
	{
		const Probe *p = &probes[i];
		double		best = 0;

		/* the CPU and the OS run it: the kernels' own test (ops.c) */
		if (bcore_kernels_use(p->kernels) != 0)
		{
			printf("%-46s SKIPPED (this CPU does not run the %s kernels)\n", p->name, p->kernels);
			continue;
		}
		for (int r = 0; r < 3; r++)
		{
			double		t = now();

			p->run(n);
			t = now() - t;
			if (n * 12 * p->per / t > best)
				best = n * 12 * p->per / t;
		}
		printf("%-46s %7.1f %s\n", p->name, best / 1e9, p->unit);
	}
	return 0;
}
