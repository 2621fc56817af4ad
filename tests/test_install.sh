#!/usr/bin/env bash
# The framework used as a library from outside, as docs/autograd.md tells a reader to: installs this
# build into a temporary prefix (cmake --install), configures examples/ there as a project of its
# own (find_package(cyclegan_cpp)), builds and runs its own-op program and checks what it prints;
# then the same program built by hand with pkg-config's flags.
#   bash tests/test_install.sh SOURCE_DIR BUILD_DIR CMAKE CXX [CCACHE] [PKG_CONFIG]
set -euo pipefail
src=$1 build=$2 cmake=$3 cxx=$4 ccache=${5:-} pkgconfig=${6:-}
[[ $ccache == *NOTFOUND ]] && ccache=""
[[ $pkgconfig == *NOTFOUND ]] && pkgconfig=""
tmp=$build/install_test  # a fixed place: the compiler cache finds its objects again, and it stays to be read
rm -rf "$tmp"
mkdir -p "$tmp"

"$cmake" --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
echo "installed into $tmp/prefix: $(find "$tmp/prefix" -type f | wc -l) files"
test -f "$tmp/prefix/lib/libcg.a"
test -f "$tmp/prefix/include/cyclegan_cpp/tensor/tensor.h"
test -f "$tmp/prefix/lib/cmake/cyclegan_cpp/cyclegan_cppConfig.cmake"

# The outside project: examples/ on its own, nothing of the source tree on its include path.
cp -r "$src/examples" "$tmp/examples"
launcher=()
[[ -n $ccache ]] && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER="$ccache")
"$cmake" -S "$tmp/examples" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
  "${launcher[@]}" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.log" ||
  { cat "$tmp/configure.log"; exit 1; }
"$cmake" --build "$tmp/build" --target own_op >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
if grep -Eq -- "(-I|-isystem )$src( |\$)" "$tmp/build/CMakeFiles/own_op.dir/flags.make"; then
  echo "FAIL: the outside build's flags name the source tree:"
  cat "$tmp/build/CMakeFiles/own_op.dir/flags.make"
  exit 1
fi

check_output() {  # $1: the program; what it prints must be the page's own-op output
  local out
  out=$("$1")
  echo "$out"
  grep -qx "cube(2) = 8, its tape:" <<<"$out"
  grep -qx "#1 cube(\[1\] leaf)" <<<"$out"
  grep -qx "x.grad() = 12, the tape after backward:" <<<"$out"
  grep -qx "#1 cube(\[1\] leaf) \[consumed\]" <<<"$out"
  grep -q "^gradcheck passed: 5 input elements" <<<"$out"
}
echo "== find_package(cyclegan_cpp): $tmp/build/own_op"
check_output "$tmp/build/own_op"

if [[ -z $pkgconfig ]]; then
  echo "FAIL: no pkg-config to check the installed cyclegan_cpp.pc with (bash scripts/deps.sh pkgconf)"
  exit 1
fi
flags=$(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" "$pkgconfig" --cflags --libs cyclegan_cpp)
echo "== pkg-config --cflags --libs cyclegan_cpp: $flags"
# shellcheck disable=SC2086  # the flags are words
${ccache:+"$ccache"} "$cxx" -O1 "$tmp/examples/own_op.cpp" -o "$tmp/own_op_pc" $flags
check_output "$tmp/own_op_pc"
echo "== the installed package builds and runs the own-op example, with CMake and with pkg-config"
