#include "cpu/isa.h"

#include <cstdlib>
#include <cstring>

namespace cg::cpu {

Isa cpu_isa() {
  static const Isa isa = [] {
    __builtin_cpu_init();
    Isa best = Isa::Generic;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::Avx2;
    if (__builtin_cpu_supports("avx512f")) best = Isa::Avx512;
    const char* forced = std::getenv("CG_CPU_ISA");
    if (forced && std::strcmp(forced, "generic") == 0) return Isa::Generic;
    if (forced && std::strcmp(forced, "avx2") == 0 && best != Isa::Generic) return Isa::Avx2;
    return best;
  }();
  return isa;
}

const char* isa_name(Isa isa) {
  return isa == Isa::Avx512 ? "avx512" : isa == Isa::Avx2 ? "avx2" : "generic";
}

}  // namespace cg::cpu
