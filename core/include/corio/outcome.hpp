// Outcome<T>: a value or the exception that replaced it; what gather(return_exceptions, ...)
// gives per child, so that one failure does not hide the other results.
#pragma once

#include <exception>
#include <optional>
#include <utility>

#include "corio/errors.hpp"

namespace corio {

// gather(return_exceptions, ...) gives one per child; corio::capture(aw) one for any awaitable.
template <class T>
class Outcome {
public:
    explicit Outcome(T value) : value_(std::move(value)) {}
    explicit Outcome(std::exception_ptr error) : error_(std::move(error)) {}

    bool has_value() const noexcept { return !error_; }
    // The error is a CancelledError.
    bool cancelled() const noexcept { return detail::is_cancellation(error_); }
    explicit operator bool() const noexcept { return has_value(); }
    // The value, or rethrows the error.
    T& value() & {
        if (error_) std::rethrow_exception(error_);
        return *value_;
    }
    const T& value() const& {
        if (error_) std::rethrow_exception(error_);
        return *value_;
    }
    T&& value() && {
        if (error_) std::rethrow_exception(error_);
        return std::move(*value_);
    }
    const std::exception_ptr& error() const noexcept { return error_; }

private:
    std::optional<T> value_;
    std::exception_ptr error_;
};

template <>
class Outcome<void> {
public:
    Outcome() = default;
    explicit Outcome(std::exception_ptr error) : error_(std::move(error)) {}
    bool has_value() const noexcept { return !error_; }
    bool cancelled() const noexcept { return detail::is_cancellation(error_); }
    explicit operator bool() const noexcept { return has_value(); }
    void value() const {
        if (error_) std::rethrow_exception(error_);
    }
    const std::exception_ptr& error() const noexcept { return error_; }

private:
    std::exception_ptr error_;
};

}  // namespace corio
