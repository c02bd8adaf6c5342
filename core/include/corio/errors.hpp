// The exception types of corio, named and derived as in asyncio. CancelledError is not a
// std::exception on purpose: `catch (const std::exception&)` must never swallow a cancellation.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace corio {

// final: cancellation is recognised by the exception's exact type, without rethrowing it.
class CancelledError final {
public:
    CancelledError() = default;
    explicit CancelledError(std::string message) : message_(std::move(message)) {}
    // The message given to cancel(msg), or "CancelledError" when there was none.
    const char* what() const noexcept { return message_.empty() ? "CancelledError" : message_.c_str(); }
    const std::string& message() const noexcept { return message_; }

private:
    std::string message_;
};

// Thrown at a generator's co_yield by aclose() (Python's GeneratorExit). Like CancelledError
// it is not a std::exception, so generic handlers do not swallow it.
class GeneratorExit {
public:
    const char* what() const noexcept { return "GeneratorExit"; }
};

class TimeoutError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    TimeoutError() : std::runtime_error("TimeoutError") {}
};

class RuntimeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class QueueEmpty : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    QueueEmpty() : std::runtime_error("QueueEmpty: the queue has no item") {}
};

class QueueFull : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    QueueFull() : std::runtime_error("QueueFull: the queue is at its maxsize") {}
};

class InvalidStateError : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

class ValueError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// Several failures at once (a TaskGroup's children). what() names how many and the first.
class ExceptionGroup : public std::exception {
public:
    ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions);
    const char* what() const noexcept override { return what_.c_str(); }
    const std::string& message() const noexcept { return message_; }
    const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

private:
    std::string message_;
    std::string what_;
    std::vector<std::exception_ptr> exceptions_;
};

namespace detail {
// what() of any exception corio can hold, for messages: CancelledError, std::exception, other.
std::string describe(const std::exception_ptr& e);
// True if `e` holds a CancelledError. With libstdc++ it reads the exception's type and
// throws nothing; elsewhere it rethrows once to look.
bool is_cancellation(const std::exception_ptr& e) noexcept;
}  // namespace detail

}  // namespace corio
