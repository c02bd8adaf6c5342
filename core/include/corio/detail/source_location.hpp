// Where a coroutine or task was created. libc++ 13 has no <source_location>, but gcc's and
// clang's __builtin_FUNCTION/FILE/LINE work on both, also as nested default arguments.
#pragma once

#include <cstdint>

namespace corio::detail {

struct SourceLocation {
    const char* function = "";
    const char* file = "";
    std::uint32_t line = 0;

    static constexpr SourceLocation current(const char* function = __builtin_FUNCTION(),
                                            const char* file = __builtin_FILE(),
                                            std::uint32_t line = __builtin_LINE()) noexcept {
        return SourceLocation{function, file, line};
    }
};

}  // namespace corio::detail
