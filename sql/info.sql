-- bert_info(): the BLIS kernel set must not be BLIS's generic C fallback on
-- any CPU with AVX2 or AVX-512 (Debian's BLIS 0.9 picks generic on CPUs it
-- does not know; we choose from the CPU's features).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;
SELECT cpu_features !~ '(avx2|avx512f)' OR kernel <> 'generic' AS kernel_not_generic,
       CASE WHEN cpu_features ~ 'avx512f' AND cpu_features ~ 'avx512bw' AND cpu_features ~ 'avx512vl'
            THEN kernel = 'skx'
            WHEN cpu_features ~ 'avx2' THEN kernel IN ('zen3', 'haswell')
            ELSE true END AS kernel_matches_cpu,
       CASE WHEN cpu_features ~ 'avx512f' AND cpu_features ~ 'avx512bw' AND cpu_features ~ 'avx512vl'
                 AND cpu_features ~ 'avx512dq'
            THEN simd = CASE WHEN cpu_features ~ 'avx512vnni' THEN 'avx512-vnni' ELSE 'avx512' END
            WHEN cpu_features ~ 'avx2' AND cpu_features ~ 'fma' THEN simd IN ('avx2', 'avx2-vnni')
            ELSE simd = 'scalar' END AS simd_matches_cpu,
       blis_version ~ '^\d+\.\d+' AS has_blis_version,
       threads AS threads_before_any_call,
       format_version,
       models_directory ~ '/bert/models$' AS models_directory_ok,
       usable_cores >= 1 AS has_usable_cores
FROM bert_info();
-- threads: those the last encoder call of this backend ran on
SELECT array_length(bert_embed('hello', 'all-MiniLM-L6-v2'), 1);
SELECT threads FROM bert_info();
