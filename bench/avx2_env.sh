# Source this to run commands as on an AVX2-only CPU (see bench/avx2_emulation/sitecustomize.py):
#   . bench/avx2_env.sh && python bench/bench_generate.py ...
_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CODEMIX_EMULATE_CPU=avx2 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2
export PYTHONPATH="$_here/avx2_emulation${PYTHONPATH:+:$PYTHONPATH}"
unset _here
