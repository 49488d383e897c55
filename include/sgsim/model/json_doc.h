#pragma once
// Strict reading of the JSON documents users write or paste by hand: the model file and JSON requests.
// Boost.JSON keeps the last of two equal keys of an object silently, so a pasted rule with "Policy" twice, or a
// request with "SecurityGroupId" twice, would be decided by a value the user may never have looked at. This reads
// the same grammar (comments and trailing commas as the caller allows) into a boost::json::value and refuses a
// duplicate key, naming its JSON path and where both occurrences are in the text.

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "sgsim/core/result.h"

namespace sgsim {

struct JsonReadOptions {
  bool allowComments = false;
  bool allowTrailingCommas = false;
};

// A place in a text: byte offset, and the 1-based line and column (in bytes) of that offset.
struct TextPosition {
  std::size_t offset = 0;
  std::size_t line = 1;
  std::size_t column = 1;
};
TextPosition positionIn(std::string_view text, std::size_t offset);

// Why a text is not a strict JSON document.
struct JsonReadError {
  enum class Kind { Syntax, DuplicateKey };
  Kind kind = Kind::Syntax;
  TextPosition at;      // Syntax: where reading stopped. DuplicateKey: the opening quote of the second occurrence.
  std::string message;  // Syntax: the parser's message ("syntax error", "incomplete JSON", …)
  // DuplicateKey only:
  std::string key;         // the key, as decoded
  std::string objectPath;  // JSON path of the object holding it ("" for the top level, "SecurityGroups[0]")
  std::string path;        // JSON path of the second occurrence ("SecurityGroups[0].Permissions")
  TextPosition first;      // the opening quote of the first occurrence
};

// Parses one JSON value (whitespace, and comments if allowed, may surround it; anything else after it is an
// error). Objects keep their keys in document order.
Result<boost::json::value, JsonReadError> readJsonStrict(std::string_view text, const JsonReadOptions& options);

}  // namespace sgsim
