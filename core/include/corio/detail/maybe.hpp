// Maybe<T>: a value that may not be there yet, for T = void too. What wait_for, task_group,
// async_with and to_thread hold between getting a result and handing it on; `co_return
// m.take();` works for every T, void included.
#pragma once

#include <optional>
#include <utility>

namespace corio::detail {

template <class T>
class Maybe {
public:
    bool has_value() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }
    template <class... U>
    void emplace(U&&... v) {
        value_.emplace(std::forward<U>(v)...);
    }
    T& operator*() noexcept { return *value_; }
    // Moves the value out (it must be there).
    T take() { return std::move(*value_); }

private:
    std::optional<T> value_;
};

template <>
class Maybe<void> {
public:
    bool has_value() const noexcept { return has_; }
    explicit operator bool() const noexcept { return has_; }
    void emplace() noexcept { has_ = true; }
    void take() const noexcept {}

private:
    bool has_ = false;
};

}  // namespace corio::detail
