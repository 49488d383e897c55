#pragma once
// The shared corpus ($SGSIM_SHARED_DIR/corpus: the tcpdump project's captures, the ClassBench sets) lives beside
// the project, not in it; meson passes the folder to the tests (option `shared_dir`, default ../shared). A test
// that needs part of it starts with SGSIM_NEED_CORPUS("classbench/1k"). When that part is missing the test is
// skipped in a user's clone, but it FAILS when the environment says CI (CI=true, as CI systems set it and
// .ci/run does): a CI run that skipped every ClassBench fast-vs-linear check would be green for nothing.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace sgsim::test {

// The path of `relative` inside the corpus; empty when SGSIM_SHARED_DIR is not set.
inline std::filesystem::path corpusPath(const std::string& relative) {
  const char* shared = std::getenv("SGSIM_SHARED_DIR");
  if (shared == nullptr || *shared == '\0') return {};
  return std::filesystem::path(shared) / "corpus" / relative;
}

// CI is set to anything but "", "0", "false" or "no".
inline bool corpusRequired() {
  const char* ci = std::getenv("CI");
  std::string v = ci == nullptr ? "" : ci;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return !v.empty() && v != "0" && v != "false" && v != "no";
}

// "no corpus: …" — the skip messages share the prefix, which scripts/test.sh counts in its closing line.
inline std::string missingCorpus(const std::string& relative) {
  const std::filesystem::path p = corpusPath(relative);
  if (p.empty()) return "no corpus: SGSIM_SHARED_DIR is not set (configure with -Dshared_dir=DIR)";
  return "no corpus: " + p.string() +
         " is missing (configure with -Dshared_dir=DIR; scripts/test.sh takes SGSIM_SHARED_DIR)";
}

}  // namespace sgsim::test

// Skips (or, under CI, fails) the calling test when corpus/`relative` does not exist.
#define SGSIM_NEED_CORPUS(relative)                                                                       \
  do {                                                                                                    \
    const std::filesystem::path sgsimCorpusPath_ = ::sgsim::test::corpusPath(relative);                   \
    if (!sgsimCorpusPath_.empty() && std::filesystem::exists(sgsimCorpusPath_)) break;                    \
    if (::sgsim::test::corpusRequired())                                                                  \
      GTEST_FAIL() << ::sgsim::test::missingCorpus(relative) << "; CI is set, so the corpus is required"; \
    GTEST_SKIP() << ::sgsim::test::missingCorpus(relative);                                               \
  } while (false)
