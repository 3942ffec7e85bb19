// A minimal test harness for the core's C++ tests (run by ctest, one executable per file).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace evloop::test {

struct Case {
  const char* name;
  std::function<void()> body;
};

inline std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}

struct Register {
  Register(const char* name, std::function<void()> body) { cases().push_back({name, std::move(body)}); }
};

inline int run_all() {
  int failed = 0;
  for (auto& c : cases()) {
    std::fprintf(stderr, "[ RUN  ] %s\n", c.name);
    c.body();
    std::fprintf(stderr, "[  OK  ] %s\n", c.name);
  }
  std::fprintf(stderr, "%zu passed, %d failed\n", cases().size(), failed);
  return failed;
}

}  // namespace evloop::test

#define TEST(name)                                                  \
  static void test_##name();                                        \
  static evloop::test::Register register_##name(#name, test_##name); \
  static void test_##name()

// A failed check ends the executable at once with the place and the expression.
#define CHECK(expr)                                                                    \
  do {                                                                                 \
    if (!(expr)) {                                                                     \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);    \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

#define CHECK_EQ(a, b) CHECK((a) == (b))

#define TEST_MAIN() \
  int main() { return evloop::test::run_all(); }
