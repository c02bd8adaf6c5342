// Where corio's diagnostics go: one line per message, to stderr unless a handler is set.
#pragma once

#include <functional>
#include <string_view>

namespace corio {

using LogHandler = std::function<void(std::string_view line)>;

// Replaces the handler for every loop in the process; an empty handler restores stderr.
void set_log_handler(LogHandler handler);

namespace detail {
void log_line(std::string_view line);
}

}  // namespace corio
