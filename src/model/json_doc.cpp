// Strict JSON reading: Boost.JSON's own parser (basic_parser) drives a handler that builds the value exactly as
// boost::json::parser does (a value_stack) and keeps, for every object open on the way down, the set of keys
// seen so far. A second key equal to one of them stops the parse; a second, rarely needed pass over the same
// text finds where the first occurrence was, so that the error can point at both.

#include "sgsim/model/json_doc.h"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <vector>

namespace sgsim {

namespace json = boost::json;

namespace {

class StrictHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack stack;

  // Search mode (the second pass): stop at the first occurrence of findKey in the findObject-th object begun.
  std::size_t findObject = 0;
  std::string findKey;

  // What the first pass found.
  bool duplicate = false;
  std::size_t duplicateObject = 0;  // 1-based count of objects begun
  std::string duplicateKey, objectPath;

  bool on_document_begin(json::error_code&) {
    stack.reset();
    return true;
  }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    beginValue();
    push(true);
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code&) {
    --depth_;
    stack.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) {
    beginValue();
    push(false);
    return true;
  }
  bool on_array_end(std::size_t n, json::error_code&) {
    --depth_;
    stack.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    stack.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    Frame& f = frames_[depth_ - 1];
    if (findObject != 0) {
      if (f.ordinal == findObject && key_ == findKey) return stop(ec);
    } else if (!f.keys.insert(key_).second) {
      duplicate = true;
      duplicateObject = f.ordinal;
      duplicateKey = key_;
      objectPath = pathTo(depth_ - 1);
      return stop(ec);
    }
    f.key = key_;
    key_.clear();
    stack.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    beginValue();
    stack.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    beginValue();
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    beginValue();
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    beginValue();
    stack.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    beginValue();
    stack.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    beginValue();
    stack.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct Frame {
    bool object = false;
    std::size_t ordinal = 0;  // objects: 1-based count of objects begun before and with this one
    std::size_t items = 0;    // arrays: elements begun
    std::string key;          // objects: the key whose value is being read
    boost::unordered_flat_set<std::string> keys;
  };

  void push(bool object) {
    // Frames are reused level by level, so the key sets keep their memory across the document's objects.
    if (depth_ == frames_.size()) frames_.emplace_back();
    Frame& f = frames_[depth_++];
    f.object = object;
    f.ordinal = object ? ++objects_ : 0;
    f.items = 0;
    f.key.clear();
    f.keys.clear();
  }
  void beginValue() {
    if (depth_ > 0 && !frames_[depth_ - 1].object) ++frames_[depth_ - 1].items;
  }
  // The JSON path of the value open at frame `level` (0 = the document itself).
  std::string pathTo(std::size_t level) const {
    std::string path;
    for (std::size_t i = 0; i < level; ++i) {
      const Frame& f = frames_[i];
      if (f.object)
        path += (path.empty() ? "" : ".") + f.key;
      else
        path += "[" + std::to_string(f.items == 0 ? 0 : f.items - 1) + "]";
    }
    return path;
  }
  static bool stop(json::error_code& ec) {
    ec = json::make_error_code(json::error::syntax);  // any error: the caller looks at the handler's state
    return false;
  }

  std::vector<Frame> frames_;
  std::size_t depth_ = 0;
  std::size_t objects_ = 0;
  std::string key_;
};

json::parse_options parseOptions(const JsonReadOptions& o) {
  json::parse_options p;
  p.allow_comments = o.allowComments;
  p.allow_trailing_commas = o.allowTrailingCommas;
  return p;
}

// The parser stops on a key's closing quote: walk back to its opening quote (a quote inside a JSON string is
// always escaped, i.e. preceded by an odd number of backslashes).
std::size_t keyStart(std::string_view text, std::size_t closing) {
  if (closing >= text.size() || text[closing] != '"') return closing;
  for (std::size_t i = closing; i-- > 0;) {
    if (text[i] != '"') continue;
    std::size_t backslashes = 0;
    while (backslashes < i && text[i - 1 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return i;
  }
  return closing;
}

}  // namespace

TextPosition positionIn(std::string_view text, std::size_t offset) {
  TextPosition p;
  p.offset = std::min(offset, text.size());
  for (std::size_t i = 0; i < p.offset; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

Result<json::value, JsonReadError> readJsonStrict(std::string_view text, const JsonReadOptions& options) {
  json::basic_parser<StrictHandler> parser(parseOptions(options));
  json::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  StrictHandler& h = parser.handler();
  if (h.duplicate) {
    JsonReadError e;
    e.kind = JsonReadError::Kind::DuplicateKey;
    e.at = positionIn(text, keyStart(text, used));
    e.key = h.duplicateKey;
    e.objectPath = h.objectPath;
    e.path = h.objectPath.empty() ? h.duplicateKey : h.objectPath + "." + h.duplicateKey;
    json::basic_parser<StrictHandler> again(parseOptions(options));
    again.handler().findObject = h.duplicateObject;
    again.handler().findKey = h.duplicateKey;
    json::error_code ignored;
    e.first = positionIn(text, keyStart(text, again.write_some(false, text.data(), text.size(), ignored)));
    return e;
  }
  // write_some stops after the value (and the whitespace after it): anything left is not part of the document.
  if (!ec && used < text.size()) ec = json::make_error_code(json::error::extra_data);
  if (ec) {
    JsonReadError e;
    e.at = positionIn(text, used);
    e.message = ec.message();
    return e;
  }
  return h.stack.release();
}

}  // namespace sgsim
