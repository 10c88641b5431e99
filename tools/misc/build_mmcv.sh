#!/usr/bin/env bash
# Compile mmcv 2.1.0 with its ops against the torch of PYTHON's environment
# (`make install` runs it; so does `make check-cuda-build`).
#
# usage: tools/misc/build_mmcv.sh PYTHON cpu|cuda|auto
#   auto  cuda when torch is a CUDA build and a GPU is visible, else cpu.
#   cpu   mmcv's C++ ops. With a CUDA torch and no GPU visible this is a
#         CPU-only mmcv, which the install check accepts and says so.
#   cuda  its CUDA ops too: FORCE_CUDA=1, never from pip's wheel cache (its
#         key ignores the torch build), for the GPU architectures of
#         TORCH_CUDA_ARCH_LIST (required when no GPU is visible).
#         nvcc: $CUDA_HOME's, or the toolkit of the nvcc on PATH, when its
#         major version is torch's CUDA major; otherwise one line says which
#         is needed. With no toolkit at all (a driver-only machine), or with
#         NVCC=pip, nvcc and the CUDA headers come from NVIDIA's pip wheels
#         (cuda-toolkit[nvcc,cccl]==<torch's CUDA>.*) into the environment,
#         and CUDA_HOME is a tree of links to them (pip_cuda_home.py).
#         EXPECT_CUDA=cuXY: stop unless torch is that CUDA build.
# The compile log is written to <environment>/mmcv-build.log; the
# terminal shows one line per compiled file. Ends by importing mmcv.ops and
# checking the CUDA version compiled into mmcv._ext.
set -euo pipefail

die() { echo "build_mmcv: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: $0 PYTHON cpu|cuda|auto"
PY=$1
MODE=$2
MMCV=${MMCV:-mmcv==2.1.0}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PREFIX=$($PY -c 'import sys; print(sys.prefix)')
LOG=$PREFIX/mmcv-build.log

$PY -m pip install -r "$REPO/requirements/build.txt"
TORCH_CUDA=$($PY -c "import torch; print(torch.version.cuda or '')")
GPU_VISIBLE=$($PY -c "import torch; print(int(torch.cuda.is_available()))")
if [ "$MODE" = auto ]; then
    if [ -n "$TORCH_CUDA" ] && [ "$GPU_VISIBLE" = 1 ]; then MODE=cuda; else MODE=cpu; fi
fi

# one line per compiled file: "[12/136] mmcv/ops/csrc/pytorch/cuda/nms_cuda.cu"
progress() {
    awk '/^ *\[[0-9]+\/[0-9]+\]/ { for (i = 2; i <= NF; i++) if ($i ~ /\.(c|cc|cpp|cu)$/) {
             f = $i; sub(/.*\/mmcv\/ops\//, "mmcv/ops/", f);
             print "  " $1 " " f; fflush(); break } }'
}

build() {  # build [pip options...]: compile, log, show progress
    local start=$SECONDS
    echo "build_mmcv: compiling $MMCV ($MODE ops); log: $LOG"
    if ! $PY -m pip install -v --no-build-isolation "$@" "$MMCV" 2>&1 \
            | tee "$LOG" | progress; then
        echo "build_mmcv: the build failed; its first error:" >&2
        grep -m 3 -E 'error:|Error:|error [A-Z]+[0-9]+' "$LOG" >&2 || tail -n 20 "$LOG" >&2
        exit 1
    fi
    echo "build_mmcv: compiled in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"
}

case "$MODE" in
cpu)
    build
    ;;
cuda)
    # EXPECT_CUDA=cu130 (make install CUDA=cu130): the torch pip installed
    # must be that build; an installed torch==X+cpu satisfies torch==X
    TORCH_VERSION=$($PY -c "import torch; print(torch.__version__)")
    [ -n "$TORCH_CUDA" ] || die "torch $TORCH_VERSION in $PREFIX is a CPU build (pip keeps an installed +cpu torch): run '$PY -m pip uninstall -y torch' and install again"
    if [ -n "${EXPECT_CUDA:-}" ] && [ "cu${TORCH_CUDA/./}" != "$EXPECT_CUDA" ]; then
        die "CUDA=$EXPECT_CUDA was asked for but torch $TORCH_VERSION in $PREFIX is a CUDA $TORCH_CUDA build (PyTorch's $EXPECT_CUDA index has no such torch, or could not be reached): use CUDA=cu${TORCH_CUDA/./}, or uninstall torch and choose another TORCH_VERSION"
    fi
    if [ -z "${TORCH_CUDA_ARCH_LIST:-}" ] && [ "$GPU_VISIBLE" != 1 ]; then
        die "no GPU visible: set TORCH_CUDA_ARCH_LIST to your GPUs' compute capabilities, e.g. TORCH_CUDA_ARCH_LIST='8.0;9.0'"
    fi
    NEED=${TORCH_CUDA%%.*}
    NVCC_BIN=
    if [ "${NVCC:-}" != pip ]; then
        if [ -n "${CUDA_HOME:-}" ]; then
            [ -x "$CUDA_HOME/bin/nvcc" ] || die "CUDA_HOME=$CUDA_HOME has no bin/nvcc"
            NVCC_BIN=$CUDA_HOME/bin/nvcc
        elif command -v nvcc >/dev/null; then
            NVCC_BIN=$(command -v nvcc)
        fi
    fi
    if [ -n "$NVCC_BIN" ]; then
        HAVE=$("$NVCC_BIN" --version | sed -n 's/.*release \([0-9][0-9.]*\),.*/\1/p')
        if [ "${HAVE%%.*}" != "$NEED" ]; then
            die "$NVCC_BIN is CUDA $HAVE but torch is built with CUDA $TORCH_CUDA: mmcv's CUDA ops need a CUDA $NEED.x nvcc; set CUDA_HOME to a CUDA $NEED toolkit, or NVCC=pip to install nvcc $TORCH_CUDA from NVIDIA's pip wheels into $PREFIX"
        fi
        if [ -z "${CUDA_HOME:-}" ]; then
            # the toolkit of that nvcc (a wrapper script on PATH: /usr/local/cuda)
            CUDA_HOME=$(cd "$(dirname "$(readlink -f "$NVCC_BIN")")/.." && pwd)
            [ -f "$CUDA_HOME/include/cuda_runtime.h" ] || CUDA_HOME=/usr/local/cuda
            [ -f "$CUDA_HOME/include/cuda_runtime.h" ] || die "found $NVCC_BIN but not its toolkit's include/cuda_runtime.h: set CUDA_HOME"
        fi
        echo "build_mmcv: nvcc $HAVE of CUDA_HOME=$CUDA_HOME"
    else
        echo "build_mmcv: no CUDA toolkit found; nvcc $TORCH_CUDA from NVIDIA's pip wheels"
        $PY -m pip install "cuda-toolkit[nvcc,cccl]==$TORCH_CUDA.*"
        CUDA_HOME=$($PY "$HERE/pip_cuda_home.py" "$PREFIX/cuda-$TORCH_CUDA")
        echo "build_mmcv: CUDA_HOME=$CUDA_HOME ($("$CUDA_HOME/bin/nvcc" --version | sed -n 's/.*\(release [0-9.]*\),.*/\1/p'))"
    fi
    export CUDA_HOME
    export PATH=$CUDA_HOME/bin:$PATH
    FORCE_CUDA=1 MMCV_WITH_OPS=1 build --no-cache-dir --force-reinstall --no-deps
    # and mmcv's own requirements (opencv, mmengine, ...), which --no-deps left out
    $PY -m pip install "$MMCV"
    ;;
*)
    die "usage: $0 PYTHON cpu|cuda|auto"
    ;;
esac

# mmcv.ops loads mmcv._ext: a failed or partial build shows here
$PY - "$MODE" "$TORCH_CUDA" <<'EOF'
import sys
from mmcv.ops import get_compiling_cuda_version
mode, torch_cuda = sys.argv[1:]
compiled = get_compiling_cuda_version()
print(f'build_mmcv: mmcv._ext compiled with CUDA: {compiled}')
if mode == 'cuda' and compiled.split('.')[0] != torch_cuda.split('.')[0]:
    sys.exit(f'build_mmcv: mmcv._ext has CUDA {compiled}, torch has '
             f'CUDA {torch_cuda}')
EOF
