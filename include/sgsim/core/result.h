#pragma once
// Value-or-error for the control path (model loading, requests). The packet path never throws
// and never uses this: a bad packet is an outcome with a counter.

#include <string>
#include <utility>
#include <variant>

namespace sgsim {

// A located failure: `where` names the place (a JSON path, a file and frame, a parameter).
struct Error {
  std::string where;
  std::string message;
  std::string toString() const { return where.empty() ? message : where + ": " + message; }
};

template <class T, class E = Error>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

}  // namespace sgsim
