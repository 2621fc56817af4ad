// Which vector instructions the CPU kernels may use, decided once at run time: the library can be
// built without -march=native and still use AVX-512 where the CPU has it. CG_CPU_ISA=avx2 or
// =generic in the environment forces a lesser level (to test those paths on any machine).
#pragma once

namespace cg::cpu {

enum class Isa { Generic, Avx2, Avx512 };
Isa cpu_isa();
const char* isa_name(Isa isa);

}  // namespace cg::cpu
