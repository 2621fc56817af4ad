// Shared by both test mains: runs doctest, and fails when no test case matched the filter. ctest
// runs each case by name, and a name that matches nothing must fail rather than pass having
// checked nothing. Include once, in a file that defines DOCTEST_CONFIG_IMPLEMENT.
#pragma once

#include <doctest/doctest.h>

#include <cstdio>

namespace cg::test {

inline int g_cases_run = 0;

struct CountingListener : doctest::IReporter {
  explicit CountingListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++g_cases_run; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

inline int run_tests(int argc, char** argv) {
  doctest::Context ctx(argc, argv);
  const int rc = ctx.run();
  if (ctx.shouldExit()) return rc;  // --help, --list-test-cases, ...
  if (g_cases_run == 0) {
    std::fprintf(stderr, "no test case matched the filter: nothing was checked\n");
    return 1;
  }
  return rc;
}

}  // namespace cg::test

DOCTEST_REGISTER_LISTENER("counting", 1, cg::test::CountingListener);
