#pragma once
// Whole-file reading and crash-safe writing for the model file and reports. A model that a command writes
// back over its own input must never be left half-written: the new content goes to a temporary file in the
// same directory (same file system, so rename() is atomic), is fsync'ed, then renamed over the target.

#include <optional>
#include <string>
#include <string_view>

#include "sgsim/core/result.h"

namespace sgsim {

// Replaces `path` with `content`. On failure the target is untouched, the temporary file is removed and the
// Error's `where` names `path`. An existing target keeps its permission bits.
std::optional<Error> writeFileAtomically(const std::string& path, std::string_view content);

// The whole content of `path`; "-" reads standard input. Errors name the path and the system's reason.
Result<std::string> readWholeFile(const std::string& path);

}  // namespace sgsim
