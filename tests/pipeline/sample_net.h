#pragma once
// The project's sample models (examples/), loaded for the pipeline tests, optionally after a request.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "sgsim/api/engine.h"
#include "sgsim/api/request.h"
#include "sgsim/model/model_json.h"
#include "sgsim/verdict/network.h"

namespace sgsim::test {

// A file of the source tree (SGSIM_SOURCE_DIR, set by meson; else the working directory).
inline std::string source(const std::string& relative) {
  const char* dir = std::getenv("SGSIM_SOURCE_DIR");
  return (std::filesystem::path(dir != nullptr ? dir : ".") / relative).string();
}

// The sample model at `model` (relative to the source tree), with the request file `revoke` applied when given.
inline std::shared_ptr<const Network> sampleNet(const std::string& model, const char* revoke = nullptr) {
  auto m = loadModel(source(model), LoadOptions{});
  EXPECT_TRUE(m) << m.error().toString();
  if (revoke != nullptr) {
    auto req = loadRequestArg(source(revoke));
    EXPECT_TRUE(req) << req.error().toString();
    EXPECT_TRUE(applyRequest(*m, *req).ok());
  }
  return std::make_shared<const Network>(std::move(*m));
}

}  // namespace sgsim::test
