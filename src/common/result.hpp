// `Result<T>`: a value or an `Error`, in the spirit of std::expected (C++23) and Dragonfly's
// OpResult. `Status` is `Result<void>`.
#pragma once

#include <utility>
#include <variant>

#include "common/check.hpp"
#include "common/error.hpp"

namespace boxoffice {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    BOXOFFICE_CHECK(ok(), "a Result's value is read only when it has one");
    return std::get<0>(state_);
  }
  const T& value() const& {
    BOXOFFICE_CHECK(ok(), "a Result's value is read only when it has one");
    return std::get<0>(state_);
  }
  T&& value() && {
    BOXOFFICE_CHECK(ok(), "a Result's value is read only when it has one");
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& {
    BOXOFFICE_CHECK(!ok(), "a Result's error is read only when it has one");
    return std::get<1>(state_);
  }
  Error&& error() && {
    BOXOFFICE_CHECK(!ok(), "a Result's error is read only when it has one");
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& {
    BOXOFFICE_CHECK(!ok_, "a Status's error is read only when it has one");
    return error_;
  }
  Error&& error() && {
    BOXOFFICE_CHECK(!ok_, "a Status's error is read only when it has one");
    return std::move(error_);
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace boxoffice
