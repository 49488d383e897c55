// libFuzzer target for requests: any bytes as a pasted request (JSON, RPC query string, `aliyun` command
// line) must parse or be refused with an error placed at "request…". A request that parses is applied to
// small fixed models (the examples, read once at start); a refused request must leave the model exactly
// as it was (not even requestCounter moves), an accepted one must leave a model that the writer and the
// loader still agree on, and the response body must be JSON in both cases.

#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sgsim/api/engine.h"
#include "sgsim/api/request.h"
#include "sgsim/model/model_json.h"

#ifndef SGSIM_EXAMPLES_DIR
#error "SGSIM_EXAMPLES_DIR: the examples folder, set by fuzz/meson.build"
#endif

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "request_fuzz: %s\n", what);
  std::abort();
}

const std::vector<sgsim::Model>& baseModels() {
  static const std::vector<sgsim::Model> models = [] {
    std::vector<sgsim::Model> out;
    for (const char* name : {"web.json", "ens.json", "two_tier.json"}) {
      auto m = sgsim::loadModel(std::string(SGSIM_EXAMPLES_DIR) + "/" + name, std::nullopt);
      check(m.ok(), "an example model does not load");
      out.push_back(std::move(*m));
    }
    return out;
  }();
  return models;
}

bool isJson(const std::string& text) {
  boost::system::error_code ec;
  (void)boost::json::parse(text, ec);
  return !ec;
}

void applyTo(sgsim::Model& model, const sgsim::ApiRequest& req) {
  const sgsim::Model before = model;
  const sgsim::ApiOutcome out = sgsim::applyRequest(model, req);
  check(isJson(out.bodyJson()), "the response body is not JSON");
  (void)sgsim::renderOutcomeText(out, model);
  if (!out.ok()) {
    check(model == before, "a failed request changed the model");
    check(!out.message.empty(), "an API error without a message");
    check(out.httpStatus >= 400, "an API error with a success status");
    return;
  }
  if (out.replayed) {
    check(model == before, "a replayed request changed the model");
    return;
  }
  check(model.requestCounter == before.requestCounter + 1, "a success did not count the request");
  const std::string written = sgsim::serializeModel(model);
  auto back = sgsim::parseModel(written, std::nullopt, "after.json");
  if (!back) {
    std::fprintf(stderr, "%s\n%s\n", back.error().toString().c_str(), written.c_str());
    check(false, "the model after a request does not load");
  }
  if (!(*back == model)) {
    std::fprintf(stderr, "%s\n", written.c_str());
    check(false, "the model after a request does not round-trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto req = sgsim::parseRequest(text);
  if (!req) {
    check(req.error().where.starts_with("request"), "a request error not placed at \"request\"");
    check(!req.error().message.empty(), "a request error without a message");
    return 0;
  }
  sgsim::ApiAction action;
  check(sgsim::actionFromName(req->action, action), "a parsed request with an unsupported action");
  check(req->canonical() == sgsim::ApiRequest(*req).canonical(), "canonical() is not a function of the request");
  for (const sgsim::Model& base : baseModels()) {
    sgsim::Model model = base;
    applyTo(model, *req);
    applyTo(model, *req);  // again: a retry, a duplicate or a rule that is gone now
  }
  return 0;
}
