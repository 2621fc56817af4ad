#define DOCTEST_CONFIG_IMPLEMENT
#include "run_guard.h"

int main(int argc, char** argv) { return cg::test::run_tests(argc, argv); }
