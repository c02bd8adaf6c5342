// Converts any std::chrono duration (integral or floating, e.g. 1.5s) to whole nanoseconds,
// saturating instead of overflowing for huge delays such as hours::max().
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <ratio>

namespace corio::detail {

template <class Rep, class Period>
std::int64_t to_ns(std::chrono::duration<Rep, Period> d) noexcept {
    using Double = std::chrono::duration<double, std::nano>;
    constexpr double kMax = 4.0e18;  // ~126 years: far beyond any deadline, far from overflow
    double ns = std::chrono::duration_cast<Double>(d).count();
    if (ns >= kMax) return static_cast<std::int64_t>(kMax);
    if (ns <= -kMax) return -static_cast<std::int64_t>(kMax);
    if constexpr (std::is_integral_v<Rep> && std::ratio_less_equal_v<std::nano, Period>)
        return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
    else
        return static_cast<std::int64_t>(ns);
}

// `now + delta`, saturating at kNoDeadline - 1 so that a far deadline still orders correctly.
inline std::int64_t deadline_after(std::int64_t now, std::int64_t delta) noexcept {
    constexpr std::int64_t kLast = std::numeric_limits<std::int64_t>::max() - 1;
    return delta > kLast - now ? kLast : now + delta;
}

}  // namespace corio::detail
